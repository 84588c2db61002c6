"""Stop: a press while queued skips the run; the stop never leaks into the next request."""

from playground.web.ui.session import request_stop, unless_stopped


def test_a_stop_pressed_while_queued_skips_the_run_and_is_then_cleared(context, viewer):
    request_stop(context, viewer)
    ran = []
    updates = list(unless_stopped(context, viewer, {"status": "stopped"}, lambda cancel: iter([ran.append(1) or {}])))
    assert updates == [{"status": "stopped"}] and ran == []
    assert not context.stops.event(viewer.browser_session).is_set()


def test_the_run_sees_the_stop_event_and_it_is_cleared_afterwards(context, viewer):
    def run(cancel):
        request_stop(context, viewer)  # the user presses Stop mid-generation
        yield {"stopped": cancel.is_set()}

    assert list(unless_stopped(context, viewer, {}, run)) == [{"stopped": True}]
    assert not context.stops.event(viewer.browser_session).is_set()


def test_a_closed_page_forgets_its_signal_unless_a_run_still_holds_it():
    from playground.serving.clients import StopSignals

    stops = StopSignals()
    stops.event("a").set()
    stops.forget("a")
    assert len(stops) == 0 and not stops.event("a").is_set()  # a new, clear signal
    with stops.held("b") as held:
        stops.forget("b")  # the page closed mid-run: Stop still reaches the run until it ends
        assert len(stops) == 2
        held.set()
        assert held.is_set()
    assert len(stops) == 1  # dropped when the run ended
    stops.forget("a")
    assert len(stops) == 0
    # A client that comes back (another tab) while its closed page's run still holds the
    # signal keeps it after that run ends.
    with stops.held("c"):
        stops.forget("c")
        stops.event("c")
    assert len(stops) == 1
    # A run the queue starts only after its page closed drops the signal when it ends.
    stops.forget("d")
    with stops.held("d"):
        pass
    assert len(stops) == 1
