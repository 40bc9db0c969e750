"""TrainConfig: values out of range or unknown are refused, naming the flag."""

import pytest

from dcgan_tf.models.config import TrainConfig


def test_config_refuses_bad_recipe_values():
    for fields, message in (({"d_norm": "layer"}, "--d_norm must be one of"),
                            ({"d_loss": "wasserstein"}, "--d_loss must be one of"),
                            ({"augment": "flip"}, "--augment"),
                            ({"mixed_precision": "int8"}, "--mixed_precision must be one of"),
                            ({"g_ema_rampup": 2.0}, "--g_ema_rampup must be in [0, 1]"),
                            ({"preview_every": -1}, "--preview_every must be >= 0"),
                            ({"held_out_faces": 65}, "--held_out_faces must be in [0, 64]"),
                            ({"align_framing": "chin"}, "--align_framing must be one of celeba, "
                                                        "celeba_face")):
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            TrainConfig(**fields).validate()
