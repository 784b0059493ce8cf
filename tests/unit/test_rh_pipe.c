/*  =========================================================================
    test_rh_pipe - inproc pipes between threads: a pointer crosses and
    comes back the same, an empty message is told apart from none, a full
    pipe refuses without waiting, and close nulls the caller's pointer
    =========================================================================
*/
#include "test_helpers.h"

static void
test_a_pointer_crosses_a_pipe_and_a_full_pipe_refuses_at_once (void)
{
    void *context = zmq_ctx_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (context);
    void *a = zmq_socket (context, ZMQ_PAIR), *b = zmq_socket (context, ZMQ_PAIR);
    CU_ASSERT_EQUAL_FATAL (rh_pipe_limits (a, 1), 0);
    CU_ASSERT_EQUAL_FATAL (rh_pipe_limits (b, 1), 0);
    CU_ASSERT_EQUAL_FATAL (zmq_bind (a, "inproc://test-rh-pipe"), 0);
    CU_ASSERT_EQUAL_FATAL (zmq_connect (b, "inproc://test-rh-pipe"), 0);
    bool empty = true;
    CU_ASSERT_PTR_NULL (rh_pipe_recv (b, &empty));  //  nothing waits
    CU_ASSERT (!empty);
    int value = 42;
    CU_ASSERT_EQUAL (rh_pipe_send (a, &value), 0);
    //  The pipe holds what its high-water marks allow and refuses the rest without waiting.
    int refused = 0;
    for (int i = 0; i < 64; i++)
        refused += rh_pipe_send (a, &value) != 0;
    CU_ASSERT (refused > 0);
    CU_ASSERT_PTR_EQUAL (rh_pipe_recv (b, &empty), &value);
    CU_ASSERT (!empty);
    while (rh_pipe_recv (b, NULL))
        ;
    CU_ASSERT_EQUAL (zmq_send (a, "", 0, 0), 0);  //  a thread saying it is ready
    CU_ASSERT_PTR_NULL (rh_pipe_recv (b, &empty));
    CU_ASSERT (empty);
    rh_pipe_close (&a);
    rh_pipe_close (&b);
    CU_ASSERT_PTR_NULL (a);
    CU_ASSERT_PTR_NULL (b);
    rh_pipe_close (&a);  //  safe again
    zmq_ctx_term (context);
}

void init_rh_pipe_tests (void);

void
init_rh_pipe_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_pipe", NULL, NULL);
    CU_add_test (suite, "a pointer crosses a pipe, and a full pipe refuses at once",
                 test_a_pointer_crosses_a_pipe_and_a_full_pipe_refuses_at_once);
}
