"""Training: d2l's loop (``train``) and what hangs on it: callbacks (printing, progress,
curves, history), checkpoints, learning-rate schedules, bfloat16 precision, distributed
training on MXNet's parameter server (and its launcher), fine-tuning.
"""
from .callbacks import (Animator, Callback, PrintLines, ProgressBar, SaveCurves,  # noqa: F401
                        SaveHistory)
from .checkpoint import (CHECKPOINT_FILE, CheckpointError, RunLocked,  # noqa: F401
                         convert_checkpoint, load_checkpoint, read_checkpoint)
from .loop import (History, LRSchedule, SmoothedCrossEntropyLoss, TrainingDiverged,  # noqa: F401
                   TrainState, evaluate_accuracy, train)
from .precision import for_training, training_precision  # noqa: F401
