"""The embedded image model: a small text-to-image diffusion model trained by the project on
procedurally rendered scenes, shipped in assets/embedded-image (see docs/EMBEDDED_IMAGE_MODEL.md).

scenes.py (data set and pixel analysis) · pipeline.py (EmbeddedImagePipeline) · train.py ·
evaluate.py (prompt following) · lora.py (adapters) · card.py (model card) · sample_sheet.py
"""
