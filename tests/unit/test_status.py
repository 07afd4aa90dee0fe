import pytest
from lumiere.pipeline.status import TERMINAL, AssetStatus, can_transition

S = AssetStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CREATED, S.UPLOADED),
        (S.UPLOADED, S.PROBED),
        (S.PROBED, S.PROCESSING),
        (S.PROCESSING, S.PROCESSING),
        (S.PROCESSING, S.READY),
        (S.PROCESSING, S.FAILED),
        (S.READY, S.DELETED),
        (S.FAILED, S.DELETED),
    ],
)
def test_forward_transitions(current: AssetStatus, target: AssetStatus) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.READY, S.PROCESSING),
        (S.READY, S.FAILED),
        (S.FAILED, S.READY),
        (S.PROBED, S.UPLOADED),
        (S.DELETED, S.READY),
        (S.DELETED, S.DELETED),
        (S.CREATED, S.READY),
    ],
)
def test_never_backwards_or_out_of_a_final_state(current: AssetStatus, target: AssetStatus) -> None:
    assert not can_transition(current, target)


def test_terminal_states_have_no_way_out_but_delete() -> None:
    for state in TERMINAL:
        assert [t for t in S if can_transition(state, t)] == (
            [] if state is S.DELETED else [S.DELETED]
        )
