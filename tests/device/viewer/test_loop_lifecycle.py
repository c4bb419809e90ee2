"""Why a run ends, as `Pipeline.run` reports it, on the simulated rig; a sub-frame stage sees
every sub-frame; several observers hear the same frames."""
import pytest

from device.simulated.presets import sim_config
from device.viewer.live_run import StopReason, StopRequests
from device.viewer.loop import Pipeline
from device.viewer.observer import LoggingObserver, Observers


def small_config(tmp_path, model_onnx):
    return sim_config(tmp_path, engine=model_onnx, width=64, height=48, fps=200,
                      exposure_ms=2.0, scene="chart", margin_ms=5.0)


class Counter(LoggingObserver):
    """Counts frames; at frame `act_at` calls `act` (pipeline.stop, .reload...)."""

    def __init__(self, act_at=None, act=None):
        self.frames, self.act_at, self.act = [], act_at, act

    def frame_shown(self, shown):
        self.frames.append(shown.frames)
        if shown.frames == self.act_at:
            self.act()


class Negate:
    """A sub-frame stage: inverts the image, so its effect is visible downstream."""
    name = "negate"

    def __init__(self, fail_after=None):
        self.seen, self.fail_after = [], fail_after

    def __call__(self, sub):
        if self.fail_after is not None and len(self.seen) >= self.fail_after:
            raise RuntimeError(f"stage failed after {len(self.seen)} sub-frames")
        self.seen.append(sub.seq)
        sub.image = 65535 - sub.image
        return sub


def test_frames_reached_every_subframe_staged_and_both_observers_told(tmp_path, model_onnx):
    first, second, stage = Counter(), Counter(), Negate()
    pipeline = Pipeline(small_config(tmp_path, model_onnx), Observers(first, second),
                        stages=[stage])
    result = pipeline.run(max_frames=6)
    assert result.reason is StopReason.FRAMES and result.fault is None
    report = result.report_or_raise()
    assert report.frames == 6 and first.frames == second.frames == [1, 2, 3, 4, 5, 6]
    assert stage.seen == sorted(stage.seen) and len(stage.seen) == report.subframes
    assert "negate" in report.stage_ms
    assert pipeline.leds.lit is None


def test_a_reload_asked_during_the_run_ends_it_for_reload(tmp_path, model_onnx):
    pipeline = Pipeline(small_config(tmp_path, model_onnx))
    observer = Counter(act_at=2, act=pipeline.reload)
    pipeline.observer = observer
    result = pipeline.run()                       # no frame limit: only the reload ends it
    assert result.reason is StopReason.RELOAD and result.report.frames >= 2
    assert pipeline.leds.lit is None


def test_a_failing_thread_ends_the_run_as_a_fault_with_leds_off(tmp_path, model_onnx):
    stage = Negate(fail_after=10)
    pipeline = Pipeline(small_config(tmp_path, model_onnx), stages=[stage])
    result = pipeline.run(max_frames=1000)
    # The eleventh sub-frame reached the stage, which raised: nothing after it was taken.
    assert result.reason is StopReason.FAULT and len(stage.seen) == 10
    assert result.report.subframes == 11
    with pytest.raises(RuntimeError, match="stage failed after 10 sub-frames"):
        result.report_or_raise()
    assert pipeline.leds.lit is None


@pytest.mark.parametrize("asked, reason", [
    ([StopReason.FRAMES, StopReason.RELOAD], StopReason.RELOAD),
    ([StopReason.RELOAD, StopReason.STOP], StopReason.STOP),
    ([StopReason.STOP, StopReason.RELOAD], StopReason.STOP),   # a stop is not undone
    ([StopReason.STOP, StopReason.FAULT, StopReason.FRAMES], StopReason.FAULT),
    ([StopReason.DISPLAY_CLOSED], StopReason.DISPLAY_CLOSED),
])
def test_the_most_severe_reason_asked_for_wins(asked, reason):
    requests = StopRequests()
    assert not requests.is_set()
    for r in asked:
        requests.ask(r)
    assert requests.is_set() and requests.most_severe() is reason
