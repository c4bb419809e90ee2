"""One process or many (torchrun): rank, world size and device, from torchrun's environment."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Process:
    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def start() -> Process:
    """Join the process group torchrun set up (NCCL on GPUs, gloo on CPUs), or run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
        # Training crops have one fixed size: let cuDNN time its algorithms once and keep the
        # fastest (the default picks by heuristics).
        torch.backends.cudnn.benchmark = True
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    return Process(rank, world, device)


def stop(process: Process) -> None:
    if process.world > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
