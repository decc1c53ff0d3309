"""Seed models from the two papers, trained here on CPU: AsymNet (Video2Shop, CVPR 2017) and an
LXMERT-style cross-modal fusion (Fashion Focus, AAAI 2021). See ``ml/seed/train.py`` and
``ml/seed/evaluate.py``."""
