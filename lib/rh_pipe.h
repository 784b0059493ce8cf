/*  =========================================================================
    rh_pipe - the inproc pipes between the threads of one process

    Threads share nothing and hand each other work over inproc ZeroMQ
    sockets: a job is a heap block whose pointer crosses the pipe and
    comes back, so ownership moves with the message. These are the few
    things every such pipe does alike: bounded queues with no linger, a
    pointer sent or taken without waiting, and a close that never blocks.
    =========================================================================
*/
#ifndef RH_PIPE_H_INCLUDED
#define RH_PIPE_H_INCLUDED

//  Sets both high-water marks to hwm and no linger: nothing in a pipe outlives its reader.
//  Returns 0 or -1.
int rh_pipe_limits (void *socket, int hwm);

//  Sends one pointer without waiting. Returns 0, or -1 (errno EAGAIN: the pipe is full; the
//  caller still owns what pointer points to).
int rh_pipe_send (void *socket, void *pointer);

//  Takes one pointer without waiting: returns it (the caller owns it now), or NULL when none
//  waited. If empty is not NULL it says whether the message was empty (a thread saying it is
//  ready or stopping, by convention of the pipe's owner).
void *rh_pipe_recv (void *socket, bool *empty);

//  Closes a socket with no linger and nulls the caller's pointer; safe on NULL.
void rh_pipe_close (void **socket_p);

#endif
