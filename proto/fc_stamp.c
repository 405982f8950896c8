/* fc_stamp.c: signs and verifies the broker's heartbeat timestamps. */
#include "fc_stamp.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#define S_DOMAIN "fleetcast-timestamp-v1"
#define S_LEN (sizeof S_DOMAIN + 3 * 8) /* the domain's NUL included */

static void s_put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void s_encode(uint8_t buf[S_LEN], uint64_t epoch, uint64_t seq, uint64_t time_ms)
{
    memcpy(buf, S_DOMAIN, sizeof S_DOMAIN);
    s_put64(buf + sizeof S_DOMAIN, epoch);
    s_put64(buf + sizeof S_DOMAIN + 8, seq);
    s_put64(buf + sizeof S_DOMAIN + 16, time_ms);
}

void fc_stamp_sign(uint8_t sig[FC_SIG_LEN], uint64_t epoch, uint64_t seq, uint64_t time_ms,
                   const fc_signkey_t *key)
{
    uint8_t buf[S_LEN];
    s_encode(buf, epoch, seq, time_ms);
    fc_sign(sig, buf, sizeof buf, key);
}

bool fc_stamp_verify(const uint8_t sig[FC_SIG_LEN], uint64_t epoch, uint64_t seq, uint64_t time_ms,
                     const uint8_t pk[FC_PUBKEY_LEN])
{
    uint8_t buf[S_LEN];
    s_encode(buf, epoch, seq, time_ms);
    return fc_sign_verify(sig, buf, sizeof buf, pk);
}

uint64_t fc_stamp_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

void fc_stamp_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_stamp: ");
    fc_signkey_t key, other;
    fc_signkey_generate(&key);
    fc_signkey_generate(&other);
    uint8_t sig[FC_SIG_LEN];
    uint64_t now = fc_stamp_now_ms();
    FC_CHECK(now > 1600000000000ull);
    fc_stamp_sign(sig, 7, 8, now, &key);
    FC_CHECK(fc_stamp_verify(sig, 7, 8, now, key.pk));
    /* Every signed field counts, and only the timestamp key's signature does. */
    FC_CHECK(!fc_stamp_verify(sig, 6, 8, now, key.pk));
    FC_CHECK(!fc_stamp_verify(sig, 7, 9, now, key.pk));
    FC_CHECK(!fc_stamp_verify(sig, 7, 8, now + 1, key.pk));
    FC_CHECK(!fc_stamp_verify(sig, 7, 8, now, other.pk));
    sig[10] ^= 1;
    FC_CHECK(!fc_stamp_verify(sig, 7, 8, now, key.pk));
    /* A plain signature of the same bytes without the domain is not a timestamp. */
    uint8_t raw[24];
    s_put64(raw, 7);
    s_put64(raw + 8, 8);
    s_put64(raw + 16, now);
    fc_sign(sig, raw, sizeof raw, &key);
    FC_CHECK(!fc_stamp_verify(sig, 7, 8, now, key.pk));
    fc_signkey_wipe(&key);
    fc_signkey_wipe(&other);
    printf("OK\n");
}
