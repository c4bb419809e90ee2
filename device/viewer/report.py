"""What a run of the live loop reports: its counts, rates, stage times and drops."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dropped:
    """Every frame the loop threw away, by why: counted here and nowhere else."""
    triplets: int = 0            # triplets and frame inputs pushed out of full queues
    color_frames: int = 0        # color frames pushed out before the display took them
    across_led_switch: int = 0   # exposures that saw two LEDs (the strobe's timing mode)
    spoiled: int = 0             # exposures the LED guard cut short (taken again)
    stale: int = 0               # color frames exposed before the latest camera loss

    @property
    def queued(self) -> int:
        """What the queues dropped: a slow stage working on the newest frame instead."""
        return self.triplets + self.color_frames

    def labelled(self) -> dict[str, int]:
        return {"triplets": self.triplets, "color frames": self.color_frames,
                "across LED switch": self.across_led_switch,
                "spoiled by fail-safe": self.spoiled, "stale after camera loss": self.stale}


@dataclass
class RunReport:
    frames: int = 0                  # color frames displayed
    subframes: int = 0               # camera frames kept (one LED each)
    triplets: int = 0                # triplets handed to the colorize thread
    wall_s: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0          # mean, newest exposure end -> on screen
    dropped: dict[str, int] = field(default_factory=dict)   # Dropped.labelled()
    camera_losses: int = 0
    failsafe_fired: int = 0          # the LED guard's forced switch-offs
    engine: str = ""
    exposure: str = ""               # each LED's exposure at the end (on-time, gain)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s else 0.0

    @property
    def subframe_fps(self) -> float:
        return self.subframes / self.wall_s if self.wall_s else 0.0

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in self.stage_ms.items())
        drops = ", ".join(f"{k} {v}" for k, v in self.dropped.items())
        return (f"{self.frames} color frames in {self.wall_s:.1f} s: {self.fps:.1f} fps from "
                f"{self.subframe_fps:.1f} sub-frames/s, latency {self.latency_ms:.0f} ms, "
                f"engine {self.engine}; stage ms: {stages}; dropped: {drops}; camera lost "
                f"{self.camera_losses}x; LED fail-safe fired {self.failsafe_fired}x; "
                f"exposure: {self.exposure}")
