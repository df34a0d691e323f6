"""Plug-in for results/toy_degradation.md sec. 13 (not a zoo component: measured, not adopted).

``mixture_mlp``: ``mlp`` whose noise is z = [z_g ~ N(0, I_noise_dim), s onehot(c)], c uniform
over ``components``, s = ``onehot_scale``. Shapes: noise(n) -> [n, noise_dim + components].

    drift-zoo --import results/toy_mixture_mlp.py train --gin_file gin/experiments/toy.gin \
        --gin_param 'train.dataset = @graded_spiral()' --gin_param 'train.eval_samples = 16384' \
        --gin_param 'train.generator = @mixture_mlp' --gin_param 'mixture_mlp.activation = "relu"' \
        --gin_param 'mixture_mlp.components = 64' --gin_param 'mixture_mlp.onehot_scale = 8.0'
"""
import gin, torch
from zoo.generators.mlp import mlp
from zoo.registry import register

@register("generator", "mixture_mlp")
class mixture_mlp(mlp):
    def __init__(self, out_dim, noise_dim=32, components=16, onehot_scale=1.0, **kw):
        super().__init__(out_dim, noise_dim=noise_dim + components, **kw)
        self.gauss_dim, self.components, self.onehot_scale = noise_dim, components, onehot_scale

    def noise(self, n, generator):
        z = torch.randn(n, self.gauss_dim, generator=generator)
        c = torch.randint(0, self.components, (n,), generator=generator)
        return torch.cat([z, torch.nn.functional.one_hot(c, self.components).float() * self.onehot_scale], 1)
