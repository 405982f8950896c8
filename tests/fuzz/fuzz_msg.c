/* fuzz_msg.c: fuzz target for the message codec: one or two frames into fc_msg_decode_req,
   and a decoded message must encode and decode again. */
#include "fc_fuzz.h"
#include "fc_msg.h"
#include "fc_test_check.h"
#include <czmq.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* First byte: bit 0 = a second frame; bytes 1-2 = where the first frame ends. */
    if (size < 3)
        return 0;
    bool two = data[0] & 1;
    size_t split = ((size_t)data[1] << 8 | data[2]);
    data += 3;
    size -= 3;
    if (!two || split > size)
        split = size;
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, data, split);
    if (two)
        zmsg_addmem(msg, data + split, size - split);

    int err = 0;
    uint64_t req = 0;
    fc_msg_t *m = fc_msg_decode_req(&msg, &err, &req);
    FC_CHECK(!msg);
    if (!m) {
        FC_CHECK(err != 0);
        return 0;
    }
    FC_CHECK(m->req == req);
    /* What the codec accepts it must be able to send on unchanged. */
    zmsg_t *again = fc_msg_encode(m);
    FC_CHECK(again);
    fc_msg_t *back = fc_msg_decode(&again, &err);
    FC_CHECK(back && back->type == m->type && back->req == m->req);
    fc_msg_destroy(&back);
    fc_msg_destroy(&m);
    return 0;
}
