/* fc_db_pg_sql.c: rewrites SQLite-dialect SQL into PostgreSQL's (fc_db_pg_sql), pure text
   work with no libpq, so its self-test runs in every build. fc_db_pg.c's private part. */
#include "fc_db_pg.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock BEGIN IMMEDIATE takes: one constant for every fleetcast broker, so
   writers take turns across the whole database as SQLite's single writer does. */
#define FC_DB_PG_WRITE_LOCK "7400740074"

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} s_buf_t;

static void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap : 256);
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void s_puts(s_buf_t *b, const char *s)
{
    s_put(b, s, strlen(s));
}

static bool s_word_is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

static bool s_is_ident(int c)
{
    return isalnum(c) || c == '_';
}

/* The next word after p (skipping blanks): its start in *w, its length returned, 0 if
   what follows is not a word. */
static size_t s_next_word(const char *p, const char **w)
{
    while (isspace((unsigned char)*p))
        p++;
    *w = p;
    size_t n = 0;
    while (s_is_ident((unsigned char)p[n]))
        n++;
    return n;
}

/* Past a quoted literal or identifier starting at p (quote q, doubled to escape). */
static const char *s_skip_quoted(const char *p)
{
    char q = *p++;
    while (*p) {
        if (*p == q) {
            if (p[1] == q) {
                p += 2;
                continue;
            }
            return p + 1;
        }
        p++;
    }
    return p;
}

/* Whether the call whose "(" is at p has two or more arguments at its own level. */
static bool s_call_has_comma(const char *p)
{
    int depth = 0;
    while (*p) {
        if (*p == '\'' || *p == '"') {
            p = s_skip_quoted(p);
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')') {
            if (--depth == 0)
                return false;
        } else if (*p == ',' && depth == 1)
            return true;
        p++;
    }
    return false;
}

/* One statement's pending rewrite, applied at its end. */
typedef struct {
    int insert_or; /* 0, 'I' (OR IGNORE) or 'R' (OR REPLACE) */
    char table[64];
    char cols[32][64];
    int ncols;
    bool want_table, want_cols;
    bool at_start;  /* no word of the statement seen yet */
    bool ddl;       /* CREATE or ALTER: BLOB and INTEGER after a column name are types */
    bool in_update; /* in ON CONFLICT ... DO UPDATE, where SQLite's bare column is the row's */
    int update_depth;
    char prev[16]; /* the previous token: a word (upper case) or one character */
    int aliases;   /* subqueries in FROM given a name */
} s_stmt_t;

static void s_prev(s_stmt_t *st, const char *w, size_t n)
{
    if (n >= sizeof st->prev)
        n = sizeof st->prev - 1;
    for (size_t i = 0; i < n; i++)
        st->prev[i] = (char)toupper((unsigned char)w[i]);
    st->prev[n] = 0;
}

static bool s_prev_is_word(const s_stmt_t *st)
{
    return isalpha((unsigned char)st->prev[0]) || st->prev[0] == '_';
}

/* Words after a subquery in FROM that show it has no name of its own. */
static bool s_ends_from_item(const char *w, size_t n)
{
    static const char *words[] = {"WHERE",     "GROUP",  "ORDER",  "LIMIT", "UNION", "EXCEPT",
                                  "INTERSECT", "HAVING", "JOIN",   "LEFT",  "INNER", "CROSS",
                                  "ON",        "WINDOW", "OFFSET", "RIGHT", "FULL",  NULL};
    if (n == 0)
        return true;
    for (int i = 0; words[i]; i++)
        if (s_word_is(w, n, words[i]))
            return true;
    return false;
}

/* closes[] marker: the subquery in FROM that ends here needs a name (PostgreSQL before 16). */
static const char s_alias_mark[] = "alias";

/* Whether w is a column of the INSERT's column list. */
static bool s_insert_col(const s_stmt_t *st, const char *w, size_t n)
{
    for (int i = 0; i < st->ncols; i++)
        if (s_word_is(w, n, st->cols[i]))
            return true;
    return false;
}

/* ON CONFLICT for the statement that ends here. */
static void s_finish(s_buf_t *b, s_stmt_t *st, fc_db_pg_keys_fn *keys, void *ctx)
{
    if (st->insert_or == 'I')
        s_puts(b, " ON CONFLICT DO NOTHING");
    else if (st->insert_or == 'R') {
        char *key = keys && *st->table ? keys(ctx, st->table) : NULL;
        if (!key || st->ncols == 0) {
            /* Without the key there is no ON CONFLICT target: the statement would silently
               become a plain INSERT and fail on the second row, so make it fail now. */
            s_puts(b, " ON CONFLICT (fc_db_unknown_primary_key) DO NOTHING");
            free(key);
        } else {
            s_puts(b, " ON CONFLICT (");
            s_puts(b, key);
            s_puts(b, ") DO ");
            bool any = false;
            for (int i = 0; i < st->ncols; i++) {
                /* key is "a, b, c": a column of it is not updated */
                bool in_key = false;
                const char *k = key;
                while (*k) {
                    size_t n = strcspn(k, ", ");
                    if (n && strlen(st->cols[i]) == n && strncasecmp(k, st->cols[i], n) == 0)
                        in_key = true;
                    k += n;
                    k += strspn(k, ", ");
                }
                if (in_key)
                    continue;
                s_puts(b, any ? ", " : "UPDATE SET ");
                s_puts(b, st->cols[i]);
                s_puts(b, " = excluded.");
                s_puts(b, st->cols[i]);
                any = true;
            }
            if (!any)
                s_puts(b, "NOTHING");
            free(key);
        }
    }
    memset(st, 0, sizeof *st);
    st->at_start = true;
}

/* A PRAGMA statement (p after the word PRAGMA, up to end or ';'): its replacement. */
static const char *s_pragma(const char *p, s_buf_t *b, fc_db_pg_flags_t *flags)
{
    const char *w;
    size_t n = s_next_word(p, &w);
    const char *end = w + n;
    while (*end && *end != ';')
        end++;
    const char *eq = memchr(w, '=', (size_t)(end - w));
    if (s_word_is(w, n, "user_version") && !eq)
        s_puts(b, "SELECT coalesce((SELECT v FROM fc_pragma), 0)");
    else if (s_word_is(w, n, "user_version")) {
        char num[24];
        snprintf(num, sizeof num, "%lld", strtoll(eq + 1, NULL, 10));
        s_puts(b, "INSERT INTO fc_pragma (one, v) VALUES (1, ");
        s_puts(b, num);
        s_puts(b, ") ON CONFLICT (one) DO UPDATE SET v = excluded.v");
    } else if (s_word_is(w, n, "integrity_check") || s_word_is(w, n, "quick_check"))
        s_puts(b, "SELECT 'ok'");
    else if (s_word_is(w, n, "journal_mode"))
        s_puts(b, "SELECT 'wal'"); /* what SQLite answers when the store asks for WAL */
    else
        flags->empty = true; /* SQLite's own tuning: nothing to do here */
    return end;
}

char *fc_db_pg_sql_with(const char *sql, int *nparams, fc_db_pg_flags_t *flags,
                        fc_db_pg_keys_fn *keys, void *ctx)
{
    s_buf_t b = {0};
    s_stmt_t st;
    fc_db_pg_flags_t fl = {0};
    memset(&st, 0, sizeof st);
    st.at_start = true;
    int maxparam = 0;
    /* closes[d]: what to write after the ")" that returns to depth d (total's wrapper) */
    const char *closes[64] = {0};
    int depth = 0;
    s_put(&b, "", 0);
    const char *p = sql;
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == '\'' || c == '"') {
            const char *e = s_skip_quoted(p);
            s_put(&b, p, (size_t)(e - p));
            p = e;
            st.at_start = false;
            s_prev(&st, "'", 1);
        } else if (c == '-' && p[1] == '-') {
            size_t n = strcspn(p, "\n");
            s_put(&b, p, n);
            p += n;
        } else if (c == '?') {
            p++;
            int n;
            if (isdigit((unsigned char)*p)) {
                n = (int)strtol(p, (char **)&p, 10);
            } else
                n = maxparam + 1;
            if (n > maxparam)
                maxparam = n;
            char num[16];
            if (n >= 1 && n <= 64)
                fl.used |= 1ULL << (n - 1);
            snprintf(num, sizeof num, "$%d", n);
            s_puts(&b, num);
            s_prev(&st, "?", 1);
        } else if (c == ';') {
            int aliases = st.aliases;
            s_finish(&b, &st, keys, ctx);
            st.aliases = aliases;
            s_put(&b, p++, 1);
            fl.multi = fl.multi || *p;
        } else if (c == '(') {
            if (st.want_cols) {
                /* the column list of INSERT OR REPLACE INTO t (a, b, c) */
                const char *q = p + 1;
                for (;;) {
                    const char *w;
                    size_t n = s_next_word(q, &w);
                    if (!n || st.ncols == 32 || n >= 64)
                        break;
                    memcpy(st.cols[st.ncols], w, n);
                    st.cols[st.ncols++][n] = 0;
                    q = w + n;
                    while (isspace((unsigned char)*q))
                        q++;
                    if (*q != ',')
                        break;
                    q++;
                }
                st.want_cols = false;
            }
            const char *nw;
            size_t nn = s_next_word(p + 1, &nw);
            bool from = strcmp(st.prev, "FROM") == 0 || strcmp(st.prev, "JOIN") == 0;
            if (depth < 63)
                closes[++depth] = from && s_word_is(nw, nn, "SELECT") ? s_alias_mark : NULL;
            s_put(&b, p++, 1);
            s_prev(&st, "(", 1);
        } else if (c == ')') {
            s_put(&b, p++, 1);
            s_prev(&st, ")", 1);
            if (depth > 0) {
                const char *nw;
                size_t nn = s_next_word(p, &nw);
                if (closes[depth] == s_alias_mark) {
                    if (s_ends_from_item(nw, nn)) {
                        char alias[24];
                        snprintf(alias, sizeof alias, " AS fc_q%d", ++st.aliases);
                        s_puts(&b, alias);
                    }
                } else if (closes[depth])
                    s_puts(&b, closes[depth]);
                depth--;
            }
            if (st.in_update && depth < st.update_depth)
                st.in_update = false;
        } else if (isalpha(c) || c == '_') {
            size_t n = 0;
            while (s_is_ident((unsigned char)p[n]))
                n++;
            const char *w = p;
            bool first = st.at_start;
            st.at_start = false;
            if (first && (s_word_is(w, n, "CREATE") || s_word_is(w, n, "ALTER")))
                st.ddl = true;
            /* BLOB and INTEGER are types after a column name in DDL, or after CAST's AS;
               elsewhere (a column named blob) they stay */
            bool type_pos = (st.ddl && s_prev_is_word(&st) && strcmp(st.prev, "KEY") != 0 &&
                             strcmp(st.prev, "TABLE") != 0 && strcmp(st.prev, "EXISTS") != 0 &&
                             strcmp(st.prev, "ON") != 0 && strcmp(st.prev, "INDEX") != 0) ||
                            strcmp(st.prev, "AS") == 0;
            bool after_dot = strcmp(st.prev, ".") == 0;
            char prev_before[16];
            memcpy(prev_before, st.prev, sizeof prev_before);
            s_prev(&st, w, n);
            const char *nw;
            size_t nn = s_next_word(p + n, &nw);
            const char *after = p + n;
            while (isspace((unsigned char)*after))
                after++;
            p += n;
            if (st.want_table && !s_word_is(w, n, "INTO")) {
                snprintf(st.table, sizeof st.table, "%.*s", (int)n, w);
                st.want_table = false;
                st.want_cols = *after == '(';
                s_put(&b, w, n);
            } else if (st.in_update && !after_dot && *after != '(' && *after != '.' &&
                       s_insert_col(&st, w, n) &&
                       !((strcmp(prev_before, "SET") == 0 || strcmp(prev_before, ",") == 0) &&
                         *after == '=' && depth == st.update_depth)) {
                /* a bare column in DO UPDATE: SQLite's is the existing row's, PostgreSQL's
                   ambiguous with excluded's: name the table */
                s_puts(&b, st.table);
                s_puts(&b, ".");
                s_put(&b, w, n);
            } else if (s_word_is(w, n, "UPDATE") && strcmp(prev_before, "DO") == 0 && *st.table) {
                st.in_update = true;
                st.update_depth = depth;
                s_put(&b, w, n);
            } else if (type_pos && s_word_is(w, n, "BLOB")) {
                s_puts(&b, "BYTEA");
            } else if (type_pos && s_word_is(w, n, "INTEGER")) {
                const char *w2;
                if (s_word_is(nw, nn, "PRIMARY") && s_next_word(nw + nn, &w2) == 3 &&
                    strncasecmp(w2, "KEY", 3) == 0)
                    /* SQLite's rowid alias: a row inserted without it is numbered */
                    s_puts(&b, "BIGINT GENERATED BY DEFAULT AS IDENTITY");
                else
                    s_puts(&b, "BIGINT");
            } else if (s_word_is(w, n, "WITHOUT") && s_word_is(nw, nn, "ROWID")) {
                p = nw + nn;
                while (b.len && b.data[b.len - 1] == ' ')
                    b.data[--b.len] = 0;
            } else if (first && s_word_is(w, n, "INSERT")) {
                const char *w2;
                size_t n2 = s_next_word(nw + nn, &w2);
                if (s_word_is(nw, nn, "OR") &&
                    (s_word_is(w2, n2, "IGNORE") || s_word_is(w2, n2, "REPLACE"))) {
                    st.insert_or = toupper((unsigned char)*w2) == 'I' ? 'I' : 'R';
                    p = w2 + n2;
                }
                st.want_table = true;
                s_puts(&b, "INSERT");
            } else if ((s_word_is(w, n, "max") || s_word_is(w, n, "min")) && *after == '(' &&
                       s_call_has_comma(after)) {
                s_puts(&b, toupper((unsigned char)*(w + 1)) == 'A' ? "GREATEST" : "LEAST");
            } else if (s_word_is(w, n, "total") && *after == '(') {
                /* SQLite's total: a sum that is 0 over no rows, of a comparison (boolean
                   in PostgreSQL) or a number; fc_num (fc_db_pg.c) takes either */
                s_puts(&b, "coalesce(sum(fc_num");
                p = after;
                if (depth < 63) {
                    closes[++depth] = "), 0)";
                    s_put(&b, p++, 1);
                }
            } else if (first && s_word_is(w, n, "BEGIN")) {
                fl.txn = true;
                if (s_word_is(nw, nn, "IMMEDIATE") || s_word_is(nw, nn, "EXCLUSIVE")) {
                    s_puts(&b, "BEGIN; SELECT pg_advisory_xact_lock(" FC_DB_PG_WRITE_LOCK ")");
                    fl.multi = true;
                    p = nw + nn;
                } else {
                    s_puts(&b, "BEGIN");
                    if (s_word_is(nw, nn, "DEFERRED"))
                        p = nw + nn;
                }
            } else if (first && s_word_is(w, n, "END")) {
                fl.txn = true;
                s_puts(&b, "COMMIT");
            } else if (first && (s_word_is(w, n, "COMMIT") || s_word_is(w, n, "ROLLBACK") ||
                                 s_word_is(w, n, "SAVEPOINT") || s_word_is(w, n, "RELEASE"))) {
                fl.txn = true;
                s_put(&b, w, n);
            } else if (first && s_word_is(w, n, "PRAGMA")) {
                p = s_pragma(p, &b, &fl);
                fl.pragma = true;
            } else
                s_put(&b, w, n);
        } else {
            if (!isspace(c))
                s_prev(&st, p, 1);
            s_put(&b, p++, 1);
        }
    }
    s_finish(&b, &st, keys, ctx);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    if (nparams)
        *nparams = maxparam;
    if (flags)
        *flags = fl;
    return b.data;
}

char *fc_db_pg_sql(const char *sql, int *nparams)
{
    return fc_db_pg_sql_with(sql, nparams, NULL, NULL, NULL);
}
