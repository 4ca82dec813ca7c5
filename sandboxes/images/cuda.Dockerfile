# The CUDA sandbox image: PyTorch with CUDA and Triton, numpy and scipy, plus
# evoforge's harness. Build it with `evoforge sandbox build cuda`; run GPU tasks on a
# host with the NVIDIA container toolkit, so that device requests reach the GPU.
ARG BASE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
FROM ${BASE}

# The PyTorch image already carries Triton; scipy is what it lacks.
ARG PIP_PACKAGES="numpy scipy"
RUN python3 -m pip install --no-cache-dir ${PIP_PACKAGES}

COPY evoforge /opt/evoforge/lib/evoforge
RUN python3 -c "import site; open(site.getsitepackages()[0] + '/evoforge-harness.pth', 'w').write('/opt/evoforge/lib\n')"

# Triton compiles kernels into a cache under HOME; the sandbox points HOME at the
# evaluation's writable work folder.
ENV PYTHONDONTWRITEBYTECODE=1
USER 65534:65534
WORKDIR /tmp
