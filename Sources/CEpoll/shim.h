#ifndef SPAMWARD_CEPOLL_SHIM_H
#define SPAMWARD_CEPOLL_SHIM_H
// Linux's epoll(7) for spamward-loadgen: Swift's Glibc module does not export <sys/epoll.h>.
#ifdef __linux__
#include <sys/epoll.h>
#endif
#endif
