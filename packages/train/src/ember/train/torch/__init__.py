"""ember.train.torch: TorchTrainer and the helpers its training loop uses.

    from ember.train.torch import TorchTrainer, prepare_model, prepare_data_loader
"""

from ember.train.torch.config import TorchConfig
from ember.train.torch.torch_trainer import TorchTrainer
from ember.train.torch.train_loop_utils import (
    accelerate,
    backward,
    enable_reproducibility,
    get_device,
    get_devices,
    prepare_data_loader,
    prepare_model,
    prepare_optimizer,
)

__all__ = [
    "TorchConfig",
    "TorchTrainer",
    "accelerate",
    "backward",
    "enable_reproducibility",
    "get_device",
    "get_devices",
    "prepare_data_loader",
    "prepare_model",
    "prepare_optimizer",
]
