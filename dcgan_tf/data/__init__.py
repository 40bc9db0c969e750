"""Images in: the one decoder (``decode``), file listing (``listing``), the crop presets
(``crops``), the training pipeline (``pipeline``) and the embedded procedural faces
(``synthetic``). Pixels are uint8 [N, S, S, 3] here; ``pipeline.training_dataset`` serves
float32 batches in [-1, 1]."""
