"""AdjustVariable and EarlyStopping, the tutorial's callbacks."""
import numpy as np
import pytest

from soundtrack_cnn.training.callbacks import AdjustVariable, EarlyStopping


def test_adjust_variable_schedule_first_middle_last():
    schedule = AdjustVariable("update_learning_rate", start=.01, stop=.0001)
    assert schedule.value_at(1, 1000) == pytest.approx(.01)
    assert schedule.value_at(500, 1000) == pytest.approx(.01 + (.0001 - .01) * 499 / 999)
    assert schedule.value_at(1000, 1000) == pytest.approx(.0001)


def test_adjust_variable_sets_the_shared_variable(fitted_net):
    AdjustVariable("update_momentum", start=.9, stop=.999)(fitted_net, [{"epoch": 2}])
    assert fitted_net.update_momentum.get_value() == pytest.approx(.999, rel=1e-6)


def test_early_stopping_stops_after_patience_and_restores_best(fitted_net):
    original = fitted_net.get_all_params_values()
    stopper = EarlyStopping(patience=2, verbose=False)
    losses = [0.9, 0.5, 0.6, 0.7, 0.8, 0.4]
    history, stopped_at = [], None
    for epoch, loss in enumerate(losses, start=1):
        history.append({"epoch": epoch, "valid_loss": loss})
        # Perturb the weights each epoch so "the best weights" are distinguishable.
        for layer in fitted_net.layers_.values():
            for param in layer.get_params():
                param.set_value(param.get_value() + np.float32(epoch))
        try:
            stopper(fitted_net, history)
        except StopIteration:
            stopped_at = epoch
            break
    assert stopped_at == 5 and stopper.best_valid_epoch == 2 and stopper.stopped_early
    stopper.restore_best(fitted_net, history)
    restored = fitted_net.get_all_params_values()["conv1"][0]
    # Epoch 2's weights are the original plus 1 + 2.
    np.testing.assert_allclose(restored, original["conv1"][0] + 3, rtol=1e-6)
    assert stopper.finished and stopper.best_weights is None
    fitted_net.load_params_from(original)
