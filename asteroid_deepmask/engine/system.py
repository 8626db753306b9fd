"""The Lightning module of training: Asteroid's ``System`` with the paper's learning-rate schedule signal."""
import torch
from asteroid.engine import System


class EpochLossSystem(System):
    """Asteroid's ``System``, also logging the epoch-mean training loss (``loss_epoch``).

    The paper halves the learning rate when the *training* loss stops improving; Asteroid logs
    only the per-step loss, too noisy to schedule on.
    """

    def __init__(self, *args, compile_training: bool = False, branch_loss=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Dynamic grouping trains on the P branch estimates (branch_loss searches their grouping);
        # validation runs the model as at inference, grouped without references, under loss_func.
        self.branch_loss = branch_loss
        # torch.compile'd forward for the fixed-length training segments only: validation runs
        # whole utterances of every length, which would recompile again and again. A compiled
        # bound method, not a module, so that the state dict keeps its keys.
        self.compiled_forward = torch.compile(self.model.forward) if compile_training else None

    def training_step(self, batch, batch_nb):
        inputs, targets = batch
        if self.branch_loss is not None:
            loss = self.branch_loss(self.model.forward_branches(inputs), targets)
        else:
            loss = self.loss_func((self.compiled_forward or self.model)(inputs), targets)
        self.log("loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        return loss
