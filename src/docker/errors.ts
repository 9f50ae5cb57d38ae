/**
 * Docker Engine API errors: a status code and `{"message": …}`, worded as dockerd words
 * them, because the CLI prints `Error response from daemon: <message>` verbatim and
 * docker-py decides what to do (auto-pull) by matching the text.
 */

/** An error a Docker handler throws; the engine server renders it as `{"message"}` with `status`. */
export class DockerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DockerError';
  }
}

/** 404 `No such container: x`. */
export function noSuchContainer(nameOrId: string): DockerError {
  return new DockerError(404, `No such container: ${nameOrId}`);
}

/** 404 `No such image: busybox:latest` (docker-py pulls only on this text). */
export function noSuchImage(reference: string): DockerError {
  return new DockerError(404, `No such image: ${reference}`);
}

/** 404 `No such exec instance: id`. */
export function noSuchExec(id: string): DockerError {
  return new DockerError(404, `No such exec instance: ${id}`);
}

/** 404 `network x not found`. */
export function noSuchNetwork(nameOrId: string): DockerError {
  return new DockerError(404, `network ${nameOrId} not found`);
}

/** 404 `get x: no such volume`. */
export function noSuchVolume(name: string): DockerError {
  return new DockerError(404, `get ${name}: no such volume`);
}

/** 409: a name clash, removing something in use, a container in the wrong state. */
export function conflict(message: string): DockerError {
  return new DockerError(409, message);
}

/** 400: a malformed body or an unknown parameter value. */
export function badParameter(message: string): DockerError {
  return new DockerError(400, message);
}
