"""The first example of Ray Serve's FastAPI guide, as users run it: a class-based view
defined in a script's __main__, and one defined inside a function."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import httpx
    from fastapi import FastAPI

    import ember
    from ember import serve

    def make():
        inner = FastAPI()

        @serve.deployment
        @serve.ingress(inner)
        class Inner:
            @inner.get("/")
            def root(self):
                return "inner"

        return Inner

    app = FastAPI()

    @serve.deployment
    @serve.ingress(app)
    class MyFastAPIDeployment:
        def __init__(self):
            self.greeting = "Hello"

        @app.get("/")
        def root(self):
            return f"{self.greeting}, world!"

        @app.get("/hi/{name}")
        def hi(self, name: str):
            return {"hi": name}

    ember.init(num_cpus=2)
    serve.start(http_options={"host": "127.0.0.1", "port": 0})
    serve.run(MyFastAPIDeployment.bind(), name="main", route_prefix="/hello")
    serve.run(make().bind(), name="inner", route_prefix="/inner")
    from ember.serve._client import get_controller
    url = ember.get(get_controller().get_status.remote())["proxy_address"]
    print(httpx.get(url + "/hello/").json(), httpx.get(url + "/hello/hi/bob").json(),
          httpx.get(url + "/inner/").json())
    serve.shutdown()
    ember.shutdown()
''')


def test_class_based_views_from_main_and_from_a_function(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "Hello, world! {'hi': 'bob'} inner"
