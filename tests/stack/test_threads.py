"""One thread per training net, restored afterwards."""
import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
from threadpoolctl import threadpool_info

from soundtrack_cnn.stack.threads import one_thread


def test_every_loaded_pool_runs_one_thread_inside_and_its_own_number_after():
    before = {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}
    with one_thread():
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    assert {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()} == before
