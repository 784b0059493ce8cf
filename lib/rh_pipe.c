/*  =========================================================================
    rh_pipe - the inproc pipes between the threads of one process
    =========================================================================
*/
#include "rh_lib.h"

int
rh_pipe_limits (void *socket, int hwm)
{
    assert (socket);
    int linger = 0;
    if (zmq_setsockopt (socket, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0
        || zmq_setsockopt (socket, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0
        || zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger) != 0)
        return -1;
    return 0;
}

int
rh_pipe_send (void *socket, void *pointer)
{
    assert (socket);
    return zmq_send (socket, &pointer, sizeof pointer, ZMQ_DONTWAIT) == (int) sizeof pointer ? 0
                                                                                             : -1;
}

void *
rh_pipe_recv (void *socket, bool *empty)
{
    assert (socket);
    void *pointer = NULL;
    int size = zmq_recv (socket, &pointer, sizeof pointer, ZMQ_DONTWAIT);
    if (empty)
        *empty = size == 0;
    return size == (int) sizeof pointer ? pointer : NULL;
}

void
rh_pipe_close (void **socket_p)
{
    assert (socket_p);
    if (*socket_p) {
        int linger = 0;
        zmq_setsockopt (*socket_p, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close (*socket_p);
        *socket_p = NULL;
    }
}
