/* fc_freeport.c: fleetcast-freeport, prints N distinct free TCP ports on 127.0.0.1 for tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fc_optval.h"

#define FREEPORT_MAX 1000

int main(int argc, char **argv)
{
    long count = 1;
    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))) {
        fprintf(argc > 2 ? stderr : stdout, "usage: fleetcast-freeport [N]  (1..%d)\n",
                FREEPORT_MAX);
        return argc > 2 ? 2 : 0;
    }
    if (argc == 2) {
        uint64_t n = 0;
        char msg[256];
        if (fc_optval_uint("N", argv[1], 1, FREEPORT_MAX, &n, msg, sizeof msg)) {
            fprintf(stderr, "fleetcast-freeport: %s\n", msg);
            return 2;
        }
        count = (long)n;
    }
    /* all sockets stay bound until every port is chosen, so the kernel cannot hand out the
       same port twice */
    int *fds = calloc((size_t)count, sizeof *fds);
    int *ports = calloc((size_t)count, sizeof *ports);
    if (!fds || !ports) {
        fprintf(stderr, "fleetcast-freeport: out of memory\n");
        return 1;
    }
    int rc = 0;
    long opened = 0;
    for (; opened < count; opened++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
        socklen_t len = sizeof sa;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) ||
            getsockname(fd, (struct sockaddr *)&sa, &len)) {
            fprintf(stderr, "fleetcast-freeport: %s\n", strerror(errno));
            if (fd >= 0)
                close(fd);
            rc = 1;
            break;
        }
        fds[opened] = fd;
        ports[opened] = ntohs(sa.sin_port);
    }
    for (long i = 0; i < opened; i++) {
        if (rc == 0)
            printf("%d\n", ports[i]);
        close(fds[i]);
    }
    free(fds);
    free(ports);
    return rc;
}
