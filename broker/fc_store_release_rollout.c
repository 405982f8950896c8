/* fc_store_release_rollout.c: release rollouts in the broker's database (plans, waves,
   offered agents and their outcomes) and the per-agent answer to SYNC; a private part of
   fc_store (fc_store_priv.h). */
#include "fc_store_release_rollout.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_manifest.h"
#include "fc_presence.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"
#include "fc_store_rollout_cut.h"
#include "fc_text.h"

#include "fc_db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OFFLINE_DEFAULT FC_PRESENCE_ONLINE_S

static const char *s_schema =
    /* the rollout a push asked for, until its release is committed */
    "CREATE TABLE IF NOT EXISTS rollout_plans (channel TEXT NOT NULL, serial INTEGER NOT NULL,"
    "  waves TEXT NOT NULL, halt_percent INTEGER NOT NULL, wave_wait_ms INTEGER NOT NULL,"
    "  hold INTEGER NOT NULL, PRIMARY KEY (channel, serial));"
    /* one per release committed with a plan; prev_serial is what the others follow */
    "CREATE TABLE IF NOT EXISTS rollouts (channel TEXT NOT NULL, serial INTEGER NOT NULL,"
    "  version TEXT NOT NULL, prev_serial INTEGER NOT NULL, waves TEXT NOT NULL,"
    "  halt_percent INTEGER NOT NULL, wave_wait_ms INTEGER NOT NULL, hold INTEGER NOT NULL,"
    "  wave INTEGER NOT NULL, state TEXT NOT NULL, paused INTEGER NOT NULL,"
    "  reason TEXT NOT NULL, wave_started_ms INTEGER NOT NULL, PRIMARY KEY (channel, serial));"
    /* the agents offered a rollout's release, the wave they were offered it in, when it was
       first served to them (0: not yet) and what they reported since */
    "CREATE TABLE IF NOT EXISTS rollout_agents (channel TEXT NOT NULL, serial INTEGER NOT NULL,"
    "  id TEXT NOT NULL, wave INTEGER NOT NULL, served INTEGER NOT NULL, outcome TEXT NOT NULL,"
    "  PRIMARY KEY (channel, serial, id)) WITHOUT ROWID;";

typedef struct {
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];
    uint64_t serial, prev_serial;
    uint32_t waves[FC_MAX_WAVES];
    size_t nwaves;
    uint32_t halt_percent;
    uint64_t wave_wait_ms;
    bool hold, paused;
    uint32_t wave;
    fc_rollout_state_t state;
    char reason[FC_MAX_TEXT + 1];
    int64_t wave_started_ms;
} s_rollout_t;

int fc_store_release_rollout_init(fc_store_t *self)
{
    if (self->offline_after_s == 0)
        self->offline_after_s = S_OFFLINE_DEFAULT;
    int err = fc_store_exec(self, s_schema);
    return err ? err : fc_store_rollout_cut_init(self);
}

void fc_store_rollout_set_offline_after(fc_store_t *self, int64_t secs)
{
    self->offline_after_s = secs > 0 ? secs : S_OFFLINE_DEFAULT;
}

int64_t fc_store_rollout_offline_after(const fc_store_t *self)
{
    return self->offline_after_s;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The oldest last_seen (unix seconds) of an agent still online: heard within offline_after_s
   by the millisecond, the rule fc_msg_agent_offline applies to a STATUS_REPLY too. */
static int64_t s_live_since(const fc_store_t *self)
{
    int64_t edge_ms = s_now_ms() - self->offline_after_s * 1000;
    return edge_ms >= 0 ? (edge_ms + 999) / 1000 : 0;
}

/* Waves travel as a list; in the database they are text ("5,25,100"), read back strictly. */
static void s_waves_text(const uint32_t *waves, size_t n, char *out, size_t outsize)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < outsize; i++)
        used += (size_t)snprintf(out + used, outsize - used, "%s%u", i ? "," : "", waves[i]);
}

static bool s_waves_parse(const char *text, uint32_t *waves, size_t *n)
{
    *n = 0;
    const char *p = text ? text : "";
    while (*p && *n < FC_MAX_WAVES) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v > 100)
            return false;
        waves[(*n)++] = (uint32_t)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return false;
    }
    return *p == '\0' && fc_msg_waves_valid(waves, *n);
}

static void s_col(fc_db_stmt_t *st, int col, char *out, size_t outsize)
{
    const char *s = (const char *)fc_db_column_text(st, col);
    fc_msg_set_str(out, outsize, s ? s : "");
}

#define S_ROLLOUT_COLS                                                                             \
    "channel, serial, version, prev_serial, waves, halt_percent, wave_wait_ms, hold, wave,"        \
    " state, paused, reason, wave_started_ms"

/* The rollout of channel/serial: FC_OK, FC_ENOTFOUND, or an error (FC_EPROTO for a row this
   broker cannot read). */
static int s_load(fc_store_t *self, const char *channel, uint64_t serial, s_rollout_t *r)
{
    memset(r, 0, sizeof *r);
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT " S_ROLLOUT_COLS " FROM rollouts"
                                           " WHERE channel = ? AND serial = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel, -1);
    fc_db_bind_int64(st, 2, (int64_t)serial);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!err) {
        char state[FC_MAX_NAME + 1];
        s_col(st, 0, r->channel, sizeof r->channel);
        r->serial = (uint64_t)fc_db_column_int64(st, 1);
        s_col(st, 2, r->version, sizeof r->version);
        r->prev_serial = (uint64_t)fc_db_column_int64(st, 3);
        bool waves_ok = s_waves_parse((const char *)fc_db_column_text(st, 4), r->waves, &r->nwaves);
        r->halt_percent = (uint32_t)fc_db_column_int(st, 5);
        r->wave_wait_ms = (uint64_t)fc_db_column_int64(st, 6);
        r->hold = fc_db_column_int(st, 7) != 0;
        r->wave = (uint32_t)fc_db_column_int(st, 8);
        s_col(st, 9, state, sizeof state);
        r->paused = fc_db_column_int(st, 10) != 0;
        s_col(st, 11, r->reason, sizeof r->reason);
        r->wave_started_ms = fc_db_column_int64(st, 12);
        if (!waves_ok || !fc_rollout_state_from_name(state, &r->state) || r->wave < 1 ||
            r->wave > r->nwaves)
            err = FC_EPROTO;
    }
    fc_db_finalize(st);
    return err;
}

/* The channel's latest release: serial and version only (every REPORT asks; the manifest
   may be megabytes). FC_ENOTFOUND if it has none. */
static int s_latest(fc_store_t *self, const char *channel, fc_release_info_t *info)
{
    memset(info, 0, sizeof *info);
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT serial, version FROM releases WHERE"
                                           " channel = ? ORDER BY serial DESC LIMIT 1");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel, -1);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!err) {
        fc_msg_set_str(info->channel, sizeof info->channel, channel);
        info->serial = (uint64_t)fc_db_column_int64(st, 0);
        s_col(st, 1, info->version, sizeof info->version);
    }
    fc_db_finalize(st);
    return err;
}

/* The channel's latest release (*info: channel, serial, version) and its rollout, if it has
   one (*has). */
static int s_current(fc_store_t *self, const char *channel, fc_release_info_t *info, s_rollout_t *r,
                     bool *has)
{
    *has = false;
    int err = s_latest(self, channel, info);
    if (err)
        return err;
    err = s_load(self, channel, info->serial, r);
    if (err == FC_ENOTFOUND)
        return FC_OK;
    *has = err == FC_OK;
    return err;
}

static bool s_active(const s_rollout_t *r)
{
    return r->state != FC_ROLLOUT_DONE && r->state != FC_ROLLOUT_HALTED;
}

/* The channel's online agents (malloc'd array of malloc'd ids); also the one named extra
   (may be NULL) if it is not among them. */
static int s_online(fc_store_t *self, const char *channel, const char *extra, char ***ids_p,
                    size_t *n_p)
{
    *ids_p = NULL;
    *n_p = 0;
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT id FROM agents WHERE channel = ? AND last_seen >= ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel, -1);
    fc_db_bind_int64(st, 2, (int64_t)s_live_since(self));
    size_t n = 0, cap = 16;
    char **ids = malloc(cap * sizeof *ids);
    bool seen_extra = !extra;
    int rc, err = ids ? FC_OK : FC_ENOMEM;
    while (!err && (rc = fc_db_step(st)) == FC_DB_ROW) {
        const char *id = (const char *)fc_db_column_text(st, 0);
        if (n + 2 > cap) {
            char **more = realloc(ids, 2 * cap * sizeof *ids);
            if (!more) {
                err = FC_ENOMEM;
                break;
            }
            ids = more;
            cap *= 2;
        }
        if (extra && !strcmp(id ? id : "", extra))
            seen_extra = true;
        if (!(ids[n++] = strdup(id ? id : "")))
            err = FC_ENOMEM;
    }
    if (!err && rc != FC_DB_DONE)
        err = fc_store_sqlite_error(rc);
    fc_db_finalize(st);
    if (!err && !seen_extra && !(ids[n++] = strdup(extra)))
        err = FC_ENOMEM;
    if (err) {
        for (size_t i = 0; ids && i < n; i++)
            free(ids[i]);
        free(ids);
        return err;
    }
    *ids_p = ids;
    *n_p = n;
    return FC_OK;
}

static void s_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

static int s_add_member(fc_store_t *self, const s_rollout_t *r, const char *id, int64_t served)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT OR IGNORE INTO rollout_agents (channel, serial, id, wave,"
                            " served, outcome) VALUES (?, ?, ?, ?, ?, 'none')");
    if (st) {
        fc_db_bind_text(st, 1, r->channel, -1);
        fc_db_bind_int64(st, 2, (int64_t)r->serial);
        fc_db_bind_text(st, 3, id, -1);
        fc_db_bind_int(st, 4, (int)r->wave);
        fc_db_bind_int64(st, 5, served);
    }
    return fc_store_step_done(st);
}

/* Offers r's current wave: the first share of the online agents in offer order, or at a
   relay whose upstream states a cut, its online agents within that cut (the root's wave). */
static int s_offer_wave(fc_store_t *self, const s_rollout_t *r)
{
    char **ids;
    size_t n;
    char cut[FC_MAX_NAME + 1];
    bool has_cut = fc_store_rollout_cut_get(self, r->channel, r->serial, cut);
    int err = s_online(self, r->channel, NULL, &ids, &n);
    if (!err)
        fc_rollout_order((const char **)ids, n);
    size_t k = err ? 0 : fc_rollout_share(r->waves[r->wave - 1], n);
    if (has_cut)
        for (k = 0; !err && k < n && fc_rollout_in_cut(cut, ids[k]);)
            k++;
    for (size_t i = 0; !err && i < k; i++)
        err = s_add_member(self, r, ids[i], 0);
    s_free_ids(ids, n);
    return err;
}

static int s_save(fc_store_t *self, const s_rollout_t *r, bool insert)
{
    char waves[FC_MAX_WAVES * 4 + 1];
    s_waves_text(r->waves, r->nwaves, waves, sizeof waves);
    fc_db_stmt_t *st = fc_store_prep(
        self, insert ? "INSERT INTO rollouts (" S_ROLLOUT_COLS
                       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                     : "UPDATE rollouts SET version = ?3, prev_serial = ?4, waves = ?5,"
                       " halt_percent = ?6, wave_wait_ms = ?7, hold = ?8, wave = ?9, state = ?10,"
                       " paused = ?11, reason = ?12, wave_started_ms = ?13"
                       " WHERE channel = ?1 AND serial = ?2");
    if (st) {
        fc_db_bind_text(st, 1, r->channel, -1);
        fc_db_bind_int64(st, 2, (int64_t)r->serial);
        fc_db_bind_text(st, 3, r->version, -1);
        fc_db_bind_int64(st, 4, (int64_t)r->prev_serial);
        fc_db_bind_text(st, 5, waves, -1);
        fc_db_bind_int(st, 6, (int)r->halt_percent);
        fc_db_bind_int64(st, 7, (int64_t)r->wave_wait_ms);
        fc_db_bind_int(st, 8, r->hold);
        fc_db_bind_int(st, 9, (int)r->wave);
        fc_db_bind_text(st, 10, fc_rollout_state_name(r->state), -1);
        fc_db_bind_int(st, 11, r->paused);
        fc_db_bind_text(st, 12, r->reason, -1);
        fc_db_bind_int64(st, 13, r->wave_started_ms);
    }
    return fc_store_step_done(st);
}

/* --- plan and start --------------------------------------------------------------------- */

int fc_store_rollout_plan(fc_store_t *self, const char *channel, uint64_t serial,
                          const uint32_t *waves, size_t nwaves, uint32_t halt_percent,
                          uint64_t wave_wait_ms, bool hold)
{
    if (!fc_name_valid(channel) || serial == 0 || serial > INT64_MAX || halt_percent > 100 ||
        wave_wait_ms > INT64_MAX || !fc_msg_waves_valid(waves, nwaves) || (hold && nwaves < 2))
        return FC_EINVAL;
    fc_release_info_t info;
    int err = fc_store_latest(self, channel, &info, NULL, NULL);
    if (!err && serial <= info.serial)
        return FC_ESERIAL;
    if (err && err != FC_ENOTFOUND)
        return err;
    char text[FC_MAX_WAVES * 4 + 1];
    s_waves_text(waves, nwaves, text, sizeof text);
    fc_store_sync(self, true);
    fc_db_stmt_t *st = fc_store_prep(self, "INSERT OR REPLACE INTO rollout_plans (channel,"
                                           " serial, waves, halt_percent, wave_wait_ms, hold)"
                                           " VALUES (?, ?, ?, ?, ?, ?)");
    if (st) {
        fc_db_bind_text(st, 1, channel, -1);
        fc_db_bind_int64(st, 2, (int64_t)serial);
        fc_db_bind_text(st, 3, text, -1);
        fc_db_bind_int(st, 4, (int)halt_percent);
        fc_db_bind_int64(st, 5, (int64_t)wave_wait_ms);
        fc_db_bind_int(st, 6, hold);
    }
    return fc_store_step_done(st);
}

int fc_store_rollout_on_commit(fc_store_t *self, const char *channel, uint64_t serial,
                               const char *version, uint64_t prev)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT waves, halt_percent, wave_wait_ms, hold FROM"
                                           " rollout_plans WHERE channel = ? AND serial = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel, -1);
    fc_db_bind_int64(st, 2, (int64_t)serial);
    s_rollout_t r;
    memset(&r, 0, sizeof r);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!err) {
        if (!s_waves_parse((const char *)fc_db_column_text(st, 0), r.waves, &r.nwaves))
            err = FC_EPROTO;
        r.halt_percent = (uint32_t)fc_db_column_int(st, 1);
        r.wave_wait_ms = (uint64_t)fc_db_column_int64(st, 2);
        r.hold = fc_db_column_int(st, 3) != 0;
    }
    fc_db_finalize(st);
    if (err == FC_ENOTFOUND)
        return FC_OK; /* no plan: offered to every agent at once, as ever */
    if (err)
        return err;
    fc_msg_set_str(r.channel, sizeof r.channel, channel);
    fc_msg_set_str(r.version, sizeof r.version, version);
    r.serial = serial;
    /* The others keep following what they follow: the previous release, or, if that one's
       rollout never finished, what it left the others on. */
    r.prev_serial = prev;
    s_rollout_t before;
    if (prev && s_load(self, channel, prev, &before) == FC_OK && before.state != FC_ROLLOUT_DONE)
        r.prev_serial = before.prev_serial;
    r.wave = 1;
    r.state = r.hold ? FC_ROLLOUT_WAITING_PROMOTE : FC_ROLLOUT_ROLLING;
    r.wave_started_ms = s_now_ms();
    err = s_save(self, &r, true);
    if (!err)
        err = s_offer_wave(self, &r);
    if (!err) {
        st = fc_store_prep(self, "DELETE FROM rollout_plans WHERE channel = ? AND serial <= ?");
        if (st) {
            fc_db_bind_text(st, 1, channel, -1);
            fc_db_bind_int64(st, 2, (int64_t)serial);
        }
        err = fc_store_step_done(st);
    }
    return err;
}

/* --- what an agent is offered ----------------------------------------------------------- */

static int s_manifest_of(fc_store_t *self, const char *channel, uint64_t serial, uint8_t **out,
                         size_t *len)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT manifest FROM releases WHERE channel = ? AND serial = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel, -1);
    fc_db_bind_int64(st, 2, (int64_t)serial);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!err) {
        size_t n = (size_t)fc_db_column_bytes(st, 0);
        *out = malloc(n ? n : 1);
        if (!*out)
            err = FC_ENOMEM;
        else {
            if (n)
                memcpy(*out, fc_db_column_blob(st, 0), n);
            *len = n;
        }
    }
    fc_db_finalize(st);
    return err;
}

/* -1: not a member; else the time it was first served (0: never). */
static int64_t s_member_served(fc_store_t *self, const s_rollout_t *r, const char *id)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT served FROM rollout_agents WHERE channel = ?"
                                           " AND serial = ? AND id = ?");
    if (!st)
        return -1;
    fc_db_bind_text(st, 1, r->channel, -1);
    fc_db_bind_int64(st, 2, (int64_t)r->serial);
    fc_db_bind_text(st, 3, id, -1);
    int64_t served = fc_db_step(st) == FC_DB_ROW ? fc_db_column_int64(st, 0) : -1;
    fc_db_finalize(st);
    return served;
}

/* Whether id, not offered yet, falls within r's current wave among the online agents now. */
static bool s_joins(fc_store_t *self, const s_rollout_t *r, const char *id)
{
    char cut[FC_MAX_NAME + 1];
    if (fc_store_rollout_cut_get(self, r->channel, r->serial, cut))
        return fc_rollout_in_cut(cut, id); /* known upstream or not */
    char **ids;
    size_t n;
    if (s_online(self, r->channel, id, &ids, &n))
        return false;
    bool in =
        fc_rollout_position(id, (const char **)ids, n) < fc_rollout_share(r->waves[r->wave - 1], n);
    s_free_ids(ids, n);
    return in;
}

int fc_store_release_for_agent(fc_store_t *self, const char *channel, const char *id,
                               uint8_t **manifest, size_t *len)
{
    *manifest = NULL;
    *len = 0;
    fc_release_info_t info;
    s_rollout_t r;
    bool has;
    int err = s_current(self, channel, &info, &r, &has);
    if (err)
        return err;
    if (!has || r.state == FC_ROLLOUT_DONE || !fc_name_valid(id))
        return s_manifest_of(self, channel, info.serial, manifest, len);
    int64_t served = s_member_served(self, &r, id);
    uint64_t offer = 0;
    if (served >= 0 || (s_active(&r) && s_joins(self, &r, id))) {
        /* Reports count from the first time the release was served: what the agent said
           before it knew of the release is not about it. */
        if (served <= 0) {
            fc_store_sync(self, true);
            if (served < 0)
                err = s_add_member(self, &r, id, (int64_t)time(NULL));
            else {
                fc_db_stmt_t *st = fc_store_prep(self, "UPDATE rollout_agents SET served = ?"
                                                       " WHERE channel = ? AND serial = ? AND"
                                                       " id = ?");
                if (st) {
                    fc_db_bind_int64(st, 1, (int64_t)time(NULL));
                    fc_db_bind_text(st, 2, r.channel, -1);
                    fc_db_bind_int64(st, 3, (int64_t)r.serial);
                    fc_db_bind_text(st, 4, id, -1);
                }
                err = fc_store_step_done(st);
            }
            if (err)
                return err;
        }
        offer = r.serial;
    } else {
        /* Not offered this one: the newest release it was offered before, at least the one
           the others follow. */
        offer = r.prev_serial;
        fc_db_stmt_t *st = fc_store_prep(self, "SELECT max(serial) FROM rollout_agents WHERE"
                                               " channel = ? AND id = ? AND serial < ?");
        if (st) {
            fc_db_bind_text(st, 1, channel, -1);
            fc_db_bind_text(st, 2, id, -1);
            fc_db_bind_int64(st, 3, (int64_t)r.serial);
            if (fc_db_step(st) == FC_DB_ROW && (uint64_t)fc_db_column_int64(st, 0) > offer)
                offer = (uint64_t)fc_db_column_int64(st, 0);
            fc_db_finalize(st);
        }
    }
    if (offer == 0)
        return FC_ENOTFOUND;
    return s_manifest_of(self, channel, offer, manifest, len);
}

int fc_store_rollout_on_report(fc_store_t *self, const fc_agent_status_t *s)
{
    if (!fc_name_valid(s->channel))
        return FC_OK;
    fc_release_info_t info;
    s_rollout_t r;
    bool has;
    if (s_current(self, s->channel, &info, &r, &has) || !has || r.state == FC_ROLLOUT_DONE)
        return FC_OK;
    fc_outcome_t outcome = fc_rollout_outcome(s->state, s->version, r.version);
    fc_db_stmt_t *st = fc_store_prep(self, "UPDATE rollout_agents SET outcome = ? WHERE"
                                           " channel = ? AND serial = ? AND id = ? AND served > 0"
                                           " AND outcome != ?1");
    if (st) {
        fc_db_bind_text(st, 1, fc_rollout_outcome_name(outcome), -1);
        fc_db_bind_text(st, 2, r.channel, -1);
        fc_db_bind_int64(st, 3, (int64_t)r.serial);
        fc_db_bind_text(st, 4, s->id, -1);
    }
    return fc_store_step_done(st);
}

int fc_store_rollout_on_relayed(fc_store_t *self, const fc_agent_status_t *s)
{
    if (!fc_name_valid(s->channel))
        return FC_OK;
    fc_release_info_t info;
    s_rollout_t r;
    bool has;
    if (s_current(self, s->channel, &info, &r, &has) || !has || !s_active(&r))
        return FC_OK;
    /* Busy or running the release: the relay served it (it offers members only), so what
       the agent says from now on is about it. */
    fc_outcome_t o = fc_rollout_outcome(s->state, s->version, r.version);
    if (o != FC_OUTCOME_BUSY && o != FC_OUTCOME_HEALTHY)
        return FC_OK;
    fc_db_stmt_t *st = fc_store_prep(self, "UPDATE rollout_agents SET served = ? WHERE"
                                           " channel = ? AND serial = ? AND id = ? AND served = 0");
    if (st) {
        fc_db_bind_int64(st, 1, (int64_t)time(NULL));
        fc_db_bind_text(st, 2, r.channel, -1);
        fc_db_bind_int64(st, 3, (int64_t)r.serial);
        fc_db_bind_text(st, 4, s->id, -1);
    }
    return fc_store_step_done(st);
}

/* --- stepping --------------------------------------------------------------------------- */

/* Counts of r's current wave: members, healthy, failed or rolled back. */
static int s_wave_counts(fc_store_t *self, const s_rollout_t *r, size_t *members, size_t *healthy,
                         size_t *failed)
{
    *members = *healthy = *failed = 0;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT outcome, count(*) FROM rollout_agents WHERE"
                                           " channel = ? AND serial = ? AND wave = ?"
                                           " GROUP BY outcome");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, r->channel, -1);
    fc_db_bind_int64(st, 2, (int64_t)r->serial);
    fc_db_bind_int(st, 3, (int)r->wave);
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        size_t count = (size_t)fc_db_column_int64(st, 1);
        fc_outcome_t o = fc_rollout_outcome_from_name((const char *)fc_db_column_text(st, 0));
        *members += count;
        if (o == FC_OUTCOME_HEALTHY)
            *healthy += count;
        else if (o == FC_OUTCOME_FAILED || o == FC_OUTCOME_ROLLED_BACK)
            *failed += count;
    }
    fc_db_finalize(st);
    return rc == FC_DB_DONE ? FC_OK : fc_store_sqlite_error(rc);
}

/* Ends the transaction of a step or control: commits if err is 0, else rolls back and
   forgets the announcement number taken. Returns the outcome. */
static int s_end(fc_store_t *self, int err, uint64_t seq_before, uint64_t *seq)
{
    if (!err)
        err = fc_store_commit(self);
    if (err) {
        fc_store_rollback(self);
        self->seq = seq_before;
        *seq = 0;
    }
    return err;
}

/* Moves r to its next wave, offers it and takes an announcement number, in the caller's
   transaction. */
static int s_next_wave(fc_store_t *self, s_rollout_t *r, uint64_t *seq)
{
    r->wave++;
    r->wave_started_ms = s_now_ms();
    int err = s_save(self, r, false);
    if (!err)
        err = s_offer_wave(self, r);
    if (!err)
        err = fc_store_next_seq(self, seq);
    return err;
}

/* Reads channel's rollout and what its current wave's members said, and decides its next
   step (FC_ROLLOUT_STAY when it has no active rollout). */
static int s_decide(fc_store_t *self, const char *channel, fc_release_info_t *latest,
                    s_rollout_t *r, fc_rollout_view_t *v, fc_rollout_step_t *decided)
{
    *decided = FC_ROLLOUT_STAY;
    bool has;
    int err = s_current(self, channel, latest, r, &has);
    if (err || !has || !s_active(r))
        return err == FC_ENOTFOUND ? FC_OK : err;
    *v = (fc_rollout_view_t){r->state,
                             r->paused,
                             r->wave,
                             (uint32_t)r->nwaves,
                             r->halt_percent,
                             r->wave_wait_ms,
                             s_now_ms() - r->wave_started_ms,
                             0,
                             0,
                             0};
    err = s_wave_counts(self, r, &v->members, &v->healthy, &v->failed);
    if (!err)
        *decided = fc_rollout_decide(v);
    return err;
}

int fc_store_rollout_step(fc_store_t *self, const char *channel, fc_rollout_step_t *step,
                          fc_release_info_t *info, uint64_t *seq, char *text, size_t textsize)
{
    *step = FC_ROLLOUT_STAY;
    *seq = 0;
    if (text && textsize)
        text[0] = '\0';
    fc_release_info_t latest;
    s_rollout_t r;
    fc_rollout_view_t v;
    fc_rollout_step_t decided;
    /* Most beats change nothing: decided without the writer's lock first. */
    int err = s_decide(self, channel, &latest, &r, &v, &decided);
    if (err || decided == FC_ROLLOUT_STAY)
        return err;
    uint64_t seq_before = self->seq;
    fc_store_sync(self, true);
    err = fc_store_begin(self);
    if (err)
        return err;
    /* Decided again on what the database holds now, inside the writer's transaction: another
       broker on the same database may have moved, paused or halted the rollout since, and
       what is written below is the whole row. */
    err = s_decide(self, channel, &latest, &r, &v, &decided);
    if (err || decided == FC_ROLLOUT_STAY) {
        fc_store_rollback(self);
        return err;
    }
    char detail[FC_MAX_TEXT + 1];
    const char *action = "release.wave";
    if (decided == FC_ROLLOUT_HALT) {
        r.state = FC_ROLLOUT_HALTED;
        fc_textf(r.reason, sizeof r.reason,
                 "wave %u of %zu: %zu of %zu agents failed or rolled back (more than %u%%)", r.wave,
                 r.nwaves, v.failed, v.members, r.halt_percent);
        err = s_save(self, &r, false);
        action = "release.halt";
        fc_textf(detail, sizeof detail, "%s %s (serial %llu) halted: %s", r.channel, r.version,
                 (unsigned long long)r.serial, r.reason);
        fc_textf(text, textsize, "%s", r.reason);
    } else if (decided == FC_ROLLOUT_FINISH) {
        r.state = FC_ROLLOUT_DONE;
        err = s_save(self, &r, false);
        action = "release.done";
        fc_textf(detail, sizeof detail, "%s %s (serial %llu): every wave done", r.channel,
                 r.version, (unsigned long long)r.serial);
    } else {
        err = s_next_wave(self, &r, seq);
        fc_textf(detail, sizeof detail, "%s %s (serial %llu): wave %u of %zu (%u%%) offered",
                 r.channel, r.version, (unsigned long long)r.serial, r.wave, r.nwaves,
                 r.waves[r.wave - 1]);
    }
    if (!err)
        err = fc_store_audit_add(self, "broker", action, detail, "ok");
    err = s_end(self, err, seq_before, seq);
    if (err)
        return err;
    *step = decided;
    if (info)
        *info = latest;
    return FC_OK;
}

int fc_store_rollout_active(fc_store_t *self, char (**channels)[FC_MAX_NAME + 1], size_t *n)
{
    *channels = NULL;
    *n = 0;
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT r.channel FROM rollouts r WHERE r.state IN ('ROLLING', 'WAITING-PROMOTE')"
              " AND r.serial = (SELECT max(serial) FROM releases WHERE channel = r.channel)");
    if (!st)
        return FC_EIO;
    int rc, err = FC_OK;
    size_t cap = 0;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            void *more = realloc(*channels, cap * sizeof **channels);
            if (!more) {
                err = FC_ENOMEM;
                break;
            }
            *channels = more;
        }
        s_col(st, 0, (*channels)[(*n)++], FC_MAX_NAME + 1);
    }
    if (!err && rc != FC_DB_DONE)
        err = fc_store_sqlite_error(rc);
    fc_db_finalize(st);
    if (err) {
        free(*channels);
        *channels = NULL;
        *n = 0;
    }
    return err;
}

/* The checks of a control on the rollout r of latest (read inside the transaction): an
   error with text, or FC_OK with *act false when there is nothing to do. */
static int s_control_check(const char *channel, fc_rollout_action_t action, const s_rollout_t *r,
                           bool *act, char *text, size_t textsize)
{
    *act = false;
    if (r->state == FC_ROLLOUT_HALTED) {
        fc_textf(text, textsize, "the rollout of %s %s is halted: %s", channel, r->version,
                 r->reason);
        return FC_EREFUSED;
    }
    if (r->state == FC_ROLLOUT_DONE) {
        fc_textf(text, textsize, "the rollout of %s %s is done", channel, r->version);
        return action == FC_ROLLOUT_PROMOTE ? FC_EINVAL : FC_OK;
    }
    if (action == FC_ROLLOUT_PROMOTE && r->state != FC_ROLLOUT_WAITING_PROMOTE) {
        fc_textf(text, textsize,
                 "the rollout of %s %s is not waiting for promote (wave %u of"
                 " %zu, moving on by itself)",
                 channel, r->version, r->wave, r->nwaves);
        return FC_EINVAL;
    }
    *act = true;
    return FC_OK;
}

int fc_store_rollout_control(fc_store_t *self, const char *channel, fc_rollout_action_t action,
                             uint64_t *serial, fc_release_info_t *info, uint64_t *seq, char *text,
                             size_t textsize)
{
    *serial = 0;
    *seq = 0;
    if (text && textsize)
        text[0] = '\0';
    if (!fc_name_valid(channel)) {
        fc_textf(text, textsize, "invalid channel name");
        return FC_EINVAL;
    }
    uint64_t seq_before = self->seq;
    fc_store_sync(self, true);
    int err = fc_store_begin(self);
    if (err)
        return err;
    /* Read inside the writer's transaction: the row written back below is whole, and another
       broker on the same database may have moved the rollout on since any earlier read. */
    fc_release_info_t latest;
    s_rollout_t r;
    bool has, act = false;
    err = s_current(self, channel, &latest, &r, &has);
    if (err == FC_ENOTFOUND || (!err && !has)) {
        fc_textf(text, textsize,
                 "channel %s has no rollout: its latest release goes to every"
                 " agent",
                 channel);
        err = FC_ENOTFOUND;
    }
    if (!err) {
        *serial = r.serial;
        err = s_control_check(channel, action, &r, &act, text, textsize);
    }
    if (err || !act) {
        fc_store_rollback(self);
        return err;
    }
    if (action == FC_ROLLOUT_PROMOTE) {
        r.state = FC_ROLLOUT_ROLLING;
        r.hold = false;
        err = s_next_wave(self, &r, seq);
    } else {
        r.paused = action == FC_ROLLOUT_PAUSE;
        err = s_save(self, &r, false);
    }
    err = s_end(self, err, seq_before, seq);
    if (!err && info)
        *info = latest;
    return err;
}

/* --- status ----------------------------------------------------------------------------- */

static bool s_is(const char *state, const char *a, const char *b)
{
    return !strcmp(state, a) || (b && !strcmp(state, b));
}

/* The cut relays offer r's release within: the one stated upstream, passed on unchanged,
   else this broker's own share drawn over every online agent it knows (direct or reported
   through relays), as s_offer_wave draws it. */
static void s_cut_of(fc_store_t *self, const s_rollout_t *r, char *out)
{
    if (fc_store_rollout_cut_get(self, r->channel, r->serial, out))
        return;
    char **ids;
    size_t n;
    if (s_online(self, r->channel, NULL, &ids, &n)) {
        out[0] = '\0';
        return;
    }
    fc_rollout_order((const char **)ids, n);
    fc_rollout_cut(r->waves[r->wave - 1], (const char *const *)ids, n, out);
    s_free_ids(ids, n);
}

static int s_status_one(fc_store_t *self, const fc_release_info_t *latest, fc_rollout_info_t *out)
{
    memset(out, 0, sizeof *out);
    fc_msg_set_str(out->channel, sizeof out->channel, latest->channel);
    fc_msg_set_str(out->version, sizeof out->version, latest->version);
    out->serial = latest->serial;
    s_rollout_t r;
    int err = s_load(self, latest->channel, latest->serial, &r);
    bool has = err == FC_OK;
    if (err && err != FC_ENOTFOUND)
        return err;
    if (has) {
        fc_rollout_state_t shown = r.paused && s_active(&r) ? FC_ROLLOUT_PAUSED : r.state;
        fc_msg_set_str(out->state, sizeof out->state, fc_rollout_state_name(shown));
        fc_msg_set_str(out->reason, sizeof out->reason, r.reason);
        out->wave = r.wave;
        out->waves = (uint32_t)r.nwaves;
        out->percent = r.waves[r.wave - 1];
        out->halt_percent = r.halt_percent;
        out->wave_wait_ms = r.wave_wait_ms;
        out->wave_started = r.wave_started_ms / 1000;
        out->prev_serial = r.prev_serial;
        fc_db_stmt_t *st = fc_store_prep(self, "SELECT version FROM releases WHERE channel = ?"
                                               " AND serial = ?");
        if (st) {
            fc_db_bind_text(st, 1, r.channel, -1);
            fc_db_bind_int64(st, 2, (int64_t)r.prev_serial);
            if (fc_db_step(st) == FC_DB_ROW)
                s_col(st, 0, out->prev_version, sizeof out->prev_version);
            fc_db_finalize(st);
        }
        if (r.state != FC_ROLLOUT_DONE)
            s_cut_of(self, &r, out->cut);
    }
    bool everyone = !has || r.state == FC_ROLLOUT_DONE;
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT a.version, a.state, a.done, a.total, a.last_seen, ra.served, ra.outcome"
              " FROM agents a LEFT JOIN rollout_agents ra ON ra.channel = a.channel AND"
              " ra.serial = ? AND ra.id = a.id WHERE a.channel = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)latest->serial);
    fc_db_bind_text(st, 2, latest->channel, -1);
    int64_t live_since = s_live_since(self);
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        char version[FC_MAX_NAME + 1], state[FC_MAX_NAME + 1];
        s_col(st, 0, version, sizeof version);
        s_col(st, 1, state, sizeof state);
        bool member = !fc_db_column_is_null(st, 5);
        bool offered = everyone || member;
        out->agents++;
        if (fc_db_column_int64(st, 4) < live_since) {
            out->offline++;
            continue;
        }
        out->offered += offered;
        if (!strcmp(version, latest->version)) {
            out->installed++;
            out->healthy += s_is(state, "installed", "up-to-date");
            continue;
        }
        if (!offered) {
            out->not_offered++;
            continue;
        }
        fc_outcome_t o =
            member ? (fc_db_column_int64(st, 5) > 0
                          ? fc_rollout_outcome_from_name((const char *)fc_db_column_text(st, 6))
                          : FC_OUTCOME_NONE)
                   : fc_rollout_outcome(state, version, latest->version);
        if (o == FC_OUTCOME_FAILED)
            out->failed++;
        else if (o == FC_OUTCOME_ROLLED_BACK)
            out->rolled_back++;
        else if (s_is(state, "downloading", "installing") &&
                 (!member || fc_db_column_int64(st, 5) > 0)) {
            out->downloading++;
            out->bytes_done += (uint64_t)fc_db_column_int64(st, 2);
            out->bytes_total += (uint64_t)fc_db_column_int64(st, 3);
        } else
            out->pending++;
    }
    fc_db_finalize(st);
    return rc == FC_DB_DONE ? FC_OK : fc_store_sqlite_error(rc);
}

int fc_store_rollout_status(fc_store_t *self, const char *channel, size_t max,
                            fc_rollout_info_t **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    fc_release_info_t *latest = NULL;
    size_t nlatest = 0;
    int err;
    if (channel && *channel) {
        latest = malloc(sizeof *latest);
        if (!latest)
            return FC_ENOMEM;
        err = fc_store_latest(self, channel, latest, NULL, NULL);
        if (err == FC_ENOTFOUND) {
            free(latest);
            return FC_OK;
        }
        nlatest = err ? 0 : 1;
    } else
        err = fc_store_latest_all(self, max, &latest, &nlatest);
    if (!err && nlatest) {
        *list = calloc(nlatest, sizeof **list);
        if (!*list)
            err = FC_ENOMEM;
    }
    for (size_t i = 0; !err && i < nlatest; i++)
        err = s_status_one(self, &latest[i], &(*list)[i]);
    free(latest);
    if (err) {
        free(*list);
        *list = NULL;
        return err;
    }
    *n = nlatest;
    return FC_OK;
}

/* --- a relay following its upstream's rollout ------------------------------------------- */

int fc_store_rollout_follow(fc_store_t *self, const fc_rollout_info_t *up, const char *upstream,
                            fc_release_info_t *info, uint64_t *seq)
{
    *seq = 0;
    memset(info, 0, sizeof *info);
    fc_rollout_state_t state;
    if (!fc_name_valid(up->channel) || up->percent < 1 || up->percent > 100 ||
        !fc_rollout_state_from_name(up->state, &state))
        return FC_EPROTO;
    s_rollout_t r;
    int err = s_load(self, up->channel, up->serial, &r);
    if (err)
        return err; /* FC_ENOTFOUND: not mirrored yet, or mirrored without its rollout */
    s_rollout_t want = r;
    /* The upstream's share so far is this relay's current wave; the rest is one more wave
       that only the upstream moves it to. */
    want.nwaves = 0;
    want.waves[want.nwaves++] = up->percent;
    if (up->percent < 100)
        want.waves[want.nwaves++] = 100;
    want.wave = 1;
    want.hold = want.nwaves > 1;
    want.halt_percent = up->halt_percent;
    want.paused = state == FC_ROLLOUT_PAUSED;
    want.state = state == FC_ROLLOUT_PAUSED ? FC_ROLLOUT_ROLLING : state;
    if (state == FC_ROLLOUT_HALTED)
        snprintf(want.reason, sizeof want.reason, "at the upstream broker %.200s: %.280s", upstream,
                 up->reason);
    else
        want.reason[0] = '\0';
    /* The others follow what they follow upstream, if this relay holds it (it mirrors each
       channel's latest only, so it may not). */
    if (up->prev_serial && up->prev_serial != r.prev_serial &&
        fc_store_release_get(self, up->channel, up->prev_serial, NULL, NULL, NULL) == FC_OK)
        want.prev_serial = up->prev_serial;
    /* The upstream's cut, if it states one, decides who is in; else the share is drawn
       here over this relay's own agents (an older upstream). */
    char cut[FC_MAX_NAME + 1];
    bool had_cut = fc_store_rollout_cut_get(self, r.channel, r.serial, cut);
    bool new_cut = up->cut[0] && (!had_cut || strcmp(cut, up->cut) != 0);
    bool same = want.prev_serial == r.prev_serial && want.nwaves == r.nwaves &&
                want.waves[0] == r.waves[0] && want.state == r.state && want.paused == r.paused &&
                want.halt_percent == r.halt_percent && strcmp(want.reason, r.reason) == 0 &&
                !new_cut;
    if (same)
        return FC_OK;
    bool wider = want.waves[0] > r.waves[r.wave - 1] || new_cut;
    want.wave_started_ms = wider ? s_now_ms() : r.wave_started_ms;
    uint64_t seq_before = self->seq;
    err = fc_store_begin(self);
    if (err)
        return err;
    err = s_save(self, &want, false);
    if (!err && new_cut)
        err = fc_store_rollout_cut_set(self, r.channel, r.serial, up->cut);
    /* A wider share is offered and announced, so its agents sync and find it. */
    if (!err && wider && s_active(&want))
        err = s_offer_wave(self, &want);
    if (!err && wider)
        err = fc_store_next_seq(self, seq);
    err = s_end(self, err, seq_before, seq);
    if (!err) {
        fc_msg_set_str(info->channel, sizeof info->channel, want.channel);
        fc_msg_set_str(info->version, sizeof info->version, want.version);
        info->serial = want.serial;
    }
    return err;
}
