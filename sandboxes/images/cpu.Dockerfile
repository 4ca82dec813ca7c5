# The CPU sandbox image: slim Python with numpy and scipy, plus evoforge's harness.
# Build it with `evoforge sandbox build cpu`, which supplies the `evoforge/` folder of
# the build context (a copy of the installed evoforge packages).
ARG BASE=python:3.11-slim
FROM ${BASE}

ARG PIP_PACKAGES="numpy scipy"
RUN python3 -m pip install --no-cache-dir ${PIP_PACKAGES}

# The harness on the image's own path (a .pth file, because the sandbox starts Python
# with -I, which ignores PYTHONPATH). At run time the docker sandbox mounts the host's
# evoforge over it, so harness and orchestrator always match.
COPY evoforge /opt/evoforge/lib/evoforge
RUN python3 -c "import site; open(site.getsitepackages()[0] + '/evoforge-harness.pth', 'w').write('/opt/evoforge/lib\n')"

ENV PYTHONDONTWRITEBYTECODE=1
USER 65534:65534
WORKDIR /tmp
