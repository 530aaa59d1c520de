"""The back-off both network tasks share: doubling from a base, capped where a cap is given."""

from gallery.retrying import backoff


def test_the_delay_doubles_after_each_attempt():
    assert [backoff(n, base=10).delay for n in (1, 2, 3, 4)] == [10, 20, 40, 80]


def test_a_cap_bounds_the_delay_but_not_the_count():
    assert [backoff(n, base=10, cap=300).delay for n in (5, 6, 50, 5000)] == [160, 300, 300, 300]
    assert backoff(5000, base=10, cap=300).attempt == 5000
