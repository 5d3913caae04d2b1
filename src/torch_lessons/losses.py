"""Loss adapters that torch lacks; every other loss is a plain ``torch.nn`` class in ``conf/loss/``."""

import torch.nn.functional as F
from torch import Tensor, nn


class KLDivOneHotLoss(nn.Module):
    """KL divergence of the model's ``log_softmax`` against the one-hot target, ``batchmean``.

    ``nn.KLDivLoss`` wants log-probabilities and a target distribution; a classifier gives logits
    and class indices. With a one-hot target this equals cross-entropy, which the loss-comparison
    lesson uses to show that the two losses train identically.
    """

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        log_probabilities = F.log_softmax(logits, dim=-1)
        target_distribution = F.one_hot(target, num_classes=logits.shape[-1]).to(log_probabilities.dtype)
        return F.kl_div(log_probabilities, target_distribution, reduction="batchmean")
