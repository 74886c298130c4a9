from workers.batching import Batcher


def test_batch_closes_on_size():
    b = Batcher(max_items=3, max_age_s=10)
    assert not b.add("k", 1, (1, 11), now=0.0, wall=100.0)
    assert not b.add("k", 2, (1, 12), now=0.1, wall=100.1)
    assert b.add("k", 3, None, now=0.2, wall=100.2)
    batch = b.take("k")
    assert batch.items == [1, 2, 3] and batch.acks == [(1, 11), (1, 12)]
    assert batch.first_received == 100.0
    assert b.take("k") is None and b.pending() == 0


def test_batch_is_due_by_age_of_its_oldest_item():
    b = Batcher(max_items=100, max_age_s=0.2)
    b.add("a", 1, None, now=1.0, wall=0)
    b.add("b", 1, None, now=1.15, wall=0)
    assert b.due(1.1) == []
    assert b.due(1.25) == ["a"]
    assert sorted(b.due(1.4)) == ["a", "b"]


def test_kinds_are_batched_apart():
    b = Batcher(max_items=2, max_age_s=1)
    b.add("parking", 1, None, now=0, wall=0)
    assert not b.add("air", 1, None, now=0, wall=0)
    assert b.add("parking", 2, None, now=0, wall=0)
    assert b.take("parking").items == [1, 2]
    assert b.kinds() == ["air"]
