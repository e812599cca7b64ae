"""Application-level autoscaling policies (an application's `autoscaling_policy` in
the config file): one policy sets every autoscaling deployment's replicas, within each
deployment's bounds, with per-deployment state."""

from __future__ import annotations

import textwrap

from ember import serve
from ember.serve._declarative import deploy_config

APP = textwrap.dedent('''
    from ember import serve


    @serve.deployment(ray_actor_options={"num_cpus": 0})
    class Preprocessor:
        def __call__(self, x):
            return x


    @serve.deployment(ray_actor_options={"num_cpus": 0})
    class Model:
        def __call__(self, x):
            return x


    @serve.deployment(ray_actor_options={"num_cpus": 0})
    class Driver:
        def __init__(self, pre, model):
            self.pre, self.model = pre, model

        async def __call__(self, x):
            return await self.model.remote(await self.pre.remote(x))


    app = Driver.bind(Preprocessor.bind(), Model.bind())


    def coordinated(contexts):
        """Preprocessor: 2. Model: twice that, once its own state has seen 3 calls."""
        pre = next(d for d in contexts if d.name == "Preprocessor")
        model = next(d for d in contexts if d.name == "Model")
        calls = contexts[model].policy_state.get("calls", 0) + 1
        decisions = {pre: 2, model: 4 if calls >= 3 else 1}
        return decisions, {model: {"calls": calls}}
''')

QUICK = {"upscale_delay_s": 0, "downscale_delay_s": 0, "metrics_interval_s": 0.1}


def running(app: str, deployment: str) -> int:
    st = serve.status().applications.get(app)
    if st is None or deployment not in st.deployments:
        return -1
    return st.deployments[deployment].replica_states.get("RUNNING", 0)


def test_app_policy_scales_deployments_together(serve_url, cleanup_apps, wait, tmp_path):
    (tmp_path / "coordinated_app.py").write_text(APP)
    deploy_config({"applications": [{
        "name": "coord", "route_prefix": None, "import_path": "coordinated_app:app",
        "autoscaling_policy": {"policy_function": "coordinated_app:coordinated"},
        "deployments": [
            {"name": "Preprocessor",
             "autoscaling_config": {"min_replicas": 1, "max_replicas": 5, **QUICK}},
            {"name": "Model",  # the policy asks for 4: the bound keeps it at 3
             "autoscaling_config": {"min_replicas": 1, "max_replicas": 3, **QUICK}}]}]},
        app_dir=str(tmp_path), declarative=False)
    wait(lambda: running("coord", "Preprocessor") == 2 and running("coord", "Model") == 3,
         timeout=30, what="Preprocessor at 2 and Model at its max of 3")
    assert running("coord", "Driver") == 1  # no autoscaling_config: left alone
    h = serve.get_app_handle("coord")
    assert h.remote(7).result(timeout_s=30) == 7
