"""transforms.albumentations(): albumentations loads without torch, which no augment transform needs."""

from __future__ import annotations

import sys
import threading

import pytest

from tests.conftest import REPO, run


def _child(code: str) -> str:
    """The last line `code` prints in a fresh interpreter (where nothing has imported torch yet)."""
    return run([sys.executable, "-c", code], REPO).stdout.strip().splitlines()[-1]


def test_albumentations_loads_every_transform_without_importing_torch_and_torch_still_imports_afterwards():
    code = ("import sys; from components.data.augment.transforms import albumentations; A = albumentations(); "
            "loaded = 'torch' in sys.modules; affine = A.Affine(p=1.0).__class__.__name__; "
            "import torch; print(loaded, affine, hasattr(A, 'ToTensorV2'), torch.ones(2).sum().item())")
    assert _child(code) == "False Affine False 2.0"


def test_a_process_with_torch_loaded_gets_albumentations_whole():
    code = ("import torch; from components.data.augment.transforms import albumentations; "
            "print(hasattr(albumentations(), 'ToTensorV2'))")
    assert _child(code) == "True"


def test_other_threads_import_torch_while_albumentations_loads():
    """The hook hides torch from the importing thread only: another thread's import is never refused."""
    from components.data.augment.transforms import _WithoutTorch

    hook = _WithoutTorch()
    found: list = []
    worker = threading.Thread(target=lambda: found.append(hook.find_spec("torch")))
    worker.start()
    worker.join()
    assert found == [None]  # not refused: the usual finders go on to find torch
    with pytest.raises(ModuleNotFoundError) as refused:
        hook.find_spec("torch.nn")
    assert refused.value.name == "torch.nn"
    assert hook.find_spec("numpy") is None
