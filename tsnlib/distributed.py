"""Several processes and the data order: DDP set-up, and samples that are a function of ``(seed, epoch, index)``.

Used by :mod:`tsnlib.training` and :func:`tsnlib.experiment.build_loaders`.

* :func:`setup_distributed` joins the process group that ``torchrun`` describes in the
  environment (NCCL on CUDA, Gloo on CPU) and returns a :class:`DistInfo` (rank, world size);
  without ``torchrun`` it is one process, ``DistInfo()``.
* :class:`EpochSampler` shuffles from ``(seed, epoch)`` only and gives each process its shard;
  :class:`EpochAwareDataset` carries the epoch into the worker that loads a sample, so that
  augmentation is a function of ``(seed, epoch, index)`` even with persistent workers.
* :func:`all_reduce_sum`, :func:`all_gather` and :func:`barrier` are the three collective calls the
  training loop makes; each is a no-op (or the identity) in a single process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch.utils.data import Dataset, DistributedSampler

__all__ = [
    "DistInfo",
    "setup_distributed",
    "all_reduce_sum",
    "all_gather",
    "barrier",
    "EpochSampler",
    "EpochAwareDataset",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a distributed run (``world_size`` 1 when not distributed).

    Used by :func:`setup_distributed` and the trainer.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str | torch.device | None = None) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1 in the environment).

    Used by :class:`tsnlib.training.Trainer` and :func:`tsnlib.training.train`. Initialises with
    ``init_method="env://"`` (``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE`` set by
    torchrun), backend NCCL when the device is CUDA, Gloo otherwise; on CUDA selects
    ``cuda:<LOCAL_RANK>``. Without ``WORLD_SIZE`` (or with 1) returns ``DistInfo()``.
    Launch: ``torchrun --nproc-per-node 8 -m tsnlib train CONFIG`` (several machines: add
    ``--nnodes``, ``--node-rank``, ``--master-addr``).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(device) if device is not None else None
    use_cuda = (dev is None and torch.cuda.is_available()) or (dev is not None and dev.type == "cuda")
    backend = "nccl" if use_cuda else "gloo"
    if not tdist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local)
        tdist.init_process_group(backend=backend, init_method="env://", world_size=world, rank=rank)
    return DistInfo(rank=rank, world_size=world, local_rank=local, backend=backend)


def all_reduce_sum(values: list[float], info: DistInfo, device) -> list[float]:
    """The sums of ``values`` over every process (float64); ``values`` unchanged in a single process.

    The tensor lives on ``device`` under NCCL (it reduces GPU tensors only), on the CPU under Gloo.
    Used by the trainer (the epoch's loss, accuracy and counts).
    """
    if not info.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device if info.backend == "nccl" else "cpu")
    tdist.all_reduce(t)
    return t.tolist()


def all_gather(obj, info: DistInfo) -> list | None:
    """Every process's ``obj`` (any picklable object), in rank order; None in a single process.

    A collective call: every process must make it. Used by the trainer (every process's RNG states).
    """
    if not info.distributed:
        return None
    out = [None] * info.world_size
    tdist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    """Wait until every process gets here (nothing in a single process).

    Used by the trainer.
    """
    if info.distributed:
        tdist.barrier()


# ---------------------------------------------------------------------------------------------
# data order: a function of (seed, epoch); augmentation: of (seed, epoch, index)
# ---------------------------------------------------------------------------------------------


class EpochSampler(DistributedSampler):
    """Shuffled indices that depend only on ``(seed, epoch)``, sharded over processes; yields ``(epoch, index)``.

    Used by :func:`tsnlib.experiment.build_loaders`. A ``torch.utils.data.DistributedSampler``
    (permutation ``randperm(n, generator seeded with seed + epoch)``, padded so every process
    gets ``ceil(n / world_size)`` indices, process ``r`` taking every ``world_size``-th from ``r``)
    that also works without a process group (``num_replicas=1, rank=0``). It yields
    ``(epoch, index)`` pairs so that :class:`EpochAwareDataset` tells the dataset the epoch
    *inside the worker that loads the sample*: with persistent workers, calling
    ``dataset.set_epoch`` in the main process would not reach the workers' copies. Call
    :meth:`set_epoch` before each epoch.
    """

    def __init__(self, dataset_len: int | Sequence, num_replicas: int = 1, rank: int = 0, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        n = dataset_len if isinstance(dataset_len, int) else len(dataset_len)
        super().__init__(range(n), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=int(seed),
                         drop_last=drop_last)

    def __iter__(self):
        epoch = int(self.epoch)
        for index in super().__iter__():
            yield (epoch, int(index))


def _set_epoch(dataset, epoch: int) -> None:
    """``set_epoch(epoch)`` on a dataset, or on what a ``Subset`` / ``ConcatDataset`` wraps."""
    if hasattr(dataset, "set_epoch"):
        if getattr(dataset, "epoch", None) != epoch:
            dataset.set_epoch(epoch)
    elif hasattr(dataset, "datasets"):
        for d in dataset.datasets:
            _set_epoch(d, epoch)
    elif hasattr(dataset, "dataset"):
        _set_epoch(dataset.dataset, epoch)


class EpochAwareDataset(Dataset):
    """Wraps a dataset so that ``ds[(epoch, index)]`` sets the epoch (``set_epoch``) then returns ``ds[index]``.

    Used by :func:`tsnlib.experiment.build_loaders`; pairs with :class:`EpochSampler`. The epoch
    reaches datasets inside a ``Subset`` or ``ConcatDataset`` too. Plain integer indices pass
    through unchanged. ``.dataset`` is the wrapped dataset.
    """

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            epoch, index = key
            _set_epoch(self.dataset, epoch)
            return self.dataset[index]
        return self.dataset[key]

    def __getattr__(self, name):
        # forward plain attributes (records, label_map, ...); never dunders such as __getitems__,
        # which the DataLoader would call with (epoch, index) pairs
        if name == "dataset" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dataset, name)
