# One image for every service; compose.yaml picks the service with the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
COPY ops ./ops
COPY infra ./infra
RUN pip install --no-cache-dir -c constraints.txt .
# the credentials volume's mount point: a new volume takes its owner, so the provisioner may write
RUN mkdir /credentials && chown nobody /credentials
USER nobody
ENTRYPOINT ["python", "-m", "services"]
