"""Vision: EfficientNet-Lite0 (``effnet``), ONNX image embedder (``embedder``) and the visual
stage the pipeline calls (``analyzer.VisualAnalyzer``)."""
