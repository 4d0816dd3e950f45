/**
 * Builds and runs Dockerfile images without a Docker engine: each stage's filesystem is a folder
 * ("/app" → "<stage root>/app"), COPY copies from the build context (honouring .dockerignore) or from
 * another stage, RUN runs in `sh` in the stage's WORKDIR with its ENV and ARGs, and running the image
 * spawns ENTRYPOINT + CMD there with volumes as symbolic links. The host stands in for the base image:
 * its Node (same major version as the FROM tag) and, on PATH before everything else, the npm version
 * the Dockerfile pins. What cannot run here is refused rather than skipped:
 *   - RUN lines that name absolute paths (they would touch the host);
 *   - `chown` is recorded, not applied (one user runs everything here), and files a container writes
 *     outside its volumes are reported: there, a non-root user could not have written them.
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { type Dockerfile, last, parseDockerfile, type Stage } from './dockerfile.js';

export interface BuildOptions {
  /** The build context (the repository root). */
  context: string;
  /** Where stage filesystems are made. */
  workDir: string;
  /** Extra environment for RUN steps (e.g. npm_config_prefer_offline: the registry is this machine's cache). */
  runEnv?: Record<string, string>;
  /** Stages already built, keyed by their content; shared between the Dockerfiles of one test. */
  cache?: Map<string, BuiltStage>;
  /** Called with each step as it starts, and how long it took. */
  log?: (message: string) => void;
}

export interface BuiltStage {
  root: string;
  stage: Stage;
  env: Record<string, string>;
  workdir: string;
  user: string;
  /** Container paths chown'ed, with the owner. */
  chowned: { path: string; owner: string }[];
  /** Seconds per RUN step, in order. */
  runSeconds: { command: string; seconds: number }[];
}

export interface Image extends BuiltStage {
  /** Where the image's filesystem is now: its build folder, or `rootfs` while a container runs. */
  root: string;
  /** Every container runs at this one path, as in Docker where each sees its image at `/`. */
  rootfs: string;
  dockerfile: Dockerfile;
  volumes: string[];
  exposed: number[];
  entrypoint: string[];
  cmd: string[];
  healthcheck?: { options: Record<string, string>; command: string[] };
}

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A process to its end, asynchronously: builds and containers take minutes, and a test worker's
 * event loop must keep answering its runner meanwhile. Killed after `timeoutMs`.
 */
export function run(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A .dockerignore as a predicate on context-relative paths (Go filepath.Match patterns, `**`, `!`). */
export function dockerignore(context: string): (relative: string) => boolean {
  const file = path.join(context, '.dockerignore');
  const rules = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => {
          const negate = l.startsWith('!');
          const pattern = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ''));
          return { negate, regex: patternRegex(pattern) };
        })
    : [];
  return (relative: string) => {
    const parts = relative.split('/');
    let ignored = false;
    for (const rule of rules) {
      // A pattern matches a path or any folder above it (an ignored folder takes its contents along).
      for (let n = 1; n <= parts.length; n++) {
        if (rule.regex.test(parts.slice(0, n).join('/'))) {
          ignored = !rule.negate;
          break;
        }
      }
    }
    return ignored;
  };
}

function patternRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` is any number of folders (none included); a trailing `**` is anything.
      if (pattern[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i++;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Container path → host path inside a stage root. */
export function hostPath(root: string, containerPath: string): string {
  if (!path.posix.isAbsolute(containerPath))
    throw new Error(`not an absolute container path: ${containerPath}`);
  return path.join(root, containerPath);
}

function noVariables(text: string, what: string): void {
  if (text.includes('$')) throw new Error(`${what} "${text}": variable substitution is not emulated`);
}

/** Copies a context path into a stage, refusing sources .dockerignore excludes (as docker build does). */
function copyFromContext(
  context: string,
  ignored: (p: string) => boolean,
  source: string,
  target: string,
): void {
  noVariables(source, 'COPY source');
  if (/[*?[]/.test(source)) throw new Error(`COPY ${source}: wildcards are not emulated`);
  const relative = path.posix.normalize(source).replace(/^\.\//, '');
  const from = path.join(context, relative);
  if (relative.startsWith('..') || !existsSync(from) || ignored(relative))
    throw new Error(`COPY ${source}: not found in the build context or excluded by .dockerignore`);
  cpSync(from, target, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(context, src).split(path.sep).join('/');
      return rel === '' || !ignored(rel);
    },
  });
}

/** Copies between stages with hard links (node_modules is large; nothing writes to it afterwards). */
async function copyFromStage(source: string, target: string): Promise<void> {
  if (!existsSync(source)) throw new Error(`COPY --from: ${source} does not exist in that stage`);
  mkdirSync(path.dirname(target), { recursive: true });
  const directory = statSync(source).isDirectory();
  if (directory) mkdirSync(target, { recursive: true });
  const copied = await run('cp', directory ? ['-al', `${source}/.`, target] : ['-l', source, target]);
  if (copied.code !== 0) throw new Error(`cp ${source} ${target}: ${copied.stderr}`);
}

/** A folder on PATH with `chown` recording its calls (in $CHOWN_LOG) instead of applying them. */
function shims(workDir: string, npmCli: string | undefined): string {
  const dir = path.join(workDir, 'shims');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'chown'),
    '#!/bin/sh\n# recorded by the Dockerfile emulator, not applied\nprintf "%s\\n" "$PWD" "$*" >> "$CHOWN_LOG"\n',
    { mode: 0o755 },
  );
  if (npmCli) writeFileSync(path.join(dir, 'npm'), `#!/bin/sh\nexec "${npmCli}" "$@"\n`, { mode: 0o755 });
  return dir;
}

/**
 * The npm a Dockerfile pins (`ARG NPM_VERSION`), as a command: this machine's npm when it is that
 * version, else that version fetched once through `npm exec` (the registry or its cache).
 */
export async function pinnedNpm(
  version: string | undefined,
  log?: (m: string) => void,
): Promise<string | undefined> {
  if (!version) return undefined;
  const local = (await run('npm', ['--version'])).stdout.trim();
  if (local === version) return undefined;
  log?.(`npm ${local} here; using npm ${version} as the image does`);
  const found = await run(
    'npm',
    ['exec', '--yes', '--prefer-offline', `--package=npm@${version}`, '--', 'sh', '-c', 'command -v npm'],
    { cwd: path.parse(process.cwd()).root },
  );
  const bin = found.stdout.trim().split('\n').at(-1);
  if (found.code !== 0 || !bin) throw new Error(`cannot get npm ${version}: ${found.stderr}`);
  return bin;
}

let stageCount = 0;

/** Builds one stage (and the stages it copies from), reusing `cache` for identical stages. */
async function buildStage(
  dockerfile: Dockerfile,
  name: string,
  options: BuildOptions,
  npmCli: string | undefined,
): Promise<BuiltStage> {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`${dockerfile.file}: no stage ${name}`);
  if (dockerfile.stages.some((s) => s.name === stage.image))
    throw new Error(`${dockerfile.file}: FROM <stage> is not emulated`);
  checkBaseImage(stage);
  const deps = stage.instructions.flatMap((i) => (i.kind === 'COPY' && i.from ? [i.from] : []));
  const built = new Map<string, BuiltStage>();
  for (const d of deps) built.set(d, await buildStage(dockerfile, d, options, npmCli));
  const key = JSON.stringify({
    image: stage.image,
    args: dockerfile.globalArgs,
    instructions: stage.instructions,
    deps: [...built.values()].map((b) => b.root),
  });
  const cached = options.cache?.get(key);
  if (cached) return cached;

  const root = path.join(options.workDir, `stage-${++stageCount}-${stage.name}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const ignored = dockerignore(options.context);
  const shimDir = shims(options.workDir, npmCli);
  const chownLog = path.join(options.workDir, `chown-${path.basename(root)}.log`);
  const env: Record<string, string> = {};
  const args: Record<string, string> = {};
  let workdir = '/';
  let user = 'root';
  const runSeconds: BuiltStage['runSeconds'] = [];
  for (const instruction of stage.instructions) {
    switch (instruction.kind) {
      case 'ARG': {
        const value = instruction.value ?? dockerfile.globalArgs[instruction.name];
        if (value !== undefined) args[instruction.name] = value;
        break;
      }
      case 'ENV':
        for (const [k, v] of Object.entries(instruction.vars)) {
          noVariables(v, `ENV ${k}`);
          env[k] = v;
        }
        break;
      case 'WORKDIR':
        noVariables(instruction.path, 'WORKDIR');
        workdir = path.posix.resolve(workdir, instruction.path);
        mkdirSync(hostPath(root, workdir), { recursive: true });
        break;
      case 'USER':
        user = instruction.user;
        break;
      case 'COPY': {
        const dest = path.posix.resolve(workdir, instruction.dest);
        const intoDir = instruction.dest.endsWith('/') || instruction.sources.length > 1;
        for (const source of instruction.sources) {
          const target = hostPath(root, intoDir ? path.posix.join(dest, path.posix.basename(source)) : dest);
          mkdirSync(path.dirname(target), { recursive: true });
          if (instruction.from) {
            const from = built.get(instruction.from)!;
            await copyFromStage(hostPath(from.root, path.posix.resolve(from.workdir, source)), target);
          } else copyFromContext(options.context, ignored, source, target);
        }
        break;
      }
      case 'RUN': {
        if (/(^|[\s=:'"])\/(?!dev\/null\b)[A-Za-z]/.test(instruction.command))
          throw new Error(
            `RUN ${instruction.command}: absolute paths would touch this machine; not emulated`,
          );
        options.log?.(`RUN ${instruction.command}`);
        const started = performance.now();
        const result = await run('sh', ['-c', instruction.command], {
          cwd: hostPath(root, workdir),
          env: {
            PATH: `${shimDir}:${process.env.PATH}`,
            HOME: process.env.HOME ?? '/root',
            CHOWN_LOG: chownLog,
            // A global install (npm install -g) lands here, never in this machine's own npm.
            npm_config_prefix: path.join(options.workDir, 'npm-global'),
            // The machine's trust for the registry (a proxy's CA), which a build host configures too;
            // the pinned npm does not read this machine's global npmrc.
            ...registryTrust(),
            ...options.runEnv,
            ...args,
            ...env,
          },
        });
        const seconds = (performance.now() - started) / 1000;
        runSeconds.push({ command: instruction.command, seconds });
        options.log?.(`  ${seconds.toFixed(1)} s, exit ${result.code}`);
        if (result.code !== 0)
          throw new Error(
            `${dockerfile.file} stage ${stage.name}: RUN ${instruction.command} exited ${result.code}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
          );
        break;
      }
      default:
        break; // VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD describe the image: read by `image()`.
    }
  }
  const chowned: BuiltStage['chowned'] = [];
  if (existsSync(chownLog)) {
    const lines = readFileSync(chownLog, 'utf8').trimEnd().split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const cwd = path.relative(root, lines[i]);
      const [owner, ...paths] = lines[i + 1].split(/\s+/).filter((a) => !a.startsWith('-'));
      for (const p of paths) chowned.push({ path: path.posix.resolve(`/${cwd}`, p), owner });
    }
  }
  const result: BuiltStage = { root, stage, env, workdir, user, chowned, runSeconds };
  options.cache?.set(key, result);
  return result;
}

/** FROM node:<major>-…: the host's Node stands in for it, so the majors must agree. */
function checkBaseImage(stage: Stage): void {
  const m = /^node:(\d+)(?:[.-]|$)/.exec(stage.image);
  if (!m) throw new Error(`FROM ${stage.image}: only node:<version> images are emulated`);
  const major = process.versions.node.split('.')[0];
  if (m[1] !== major) throw new Error(`FROM ${stage.image}: this machine runs Node ${process.version}`);
}

/** `docker build -f <file> --target <last stage>`: the image and what it declares. */
export async function buildImage(file: string, options: BuildOptions): Promise<Image> {
  const dockerfile = parseDockerfile(file);
  const npmCli = await pinnedNpm(dockerfile.globalArgs.NPM_VERSION, options.log);
  const target = dockerfile.stages.at(-1)!;
  const built = await buildStage(dockerfile, target.name, options, npmCli);
  const healthcheck = last(target, 'HEALTHCHECK');
  return {
    ...built,
    rootfs: path.join(options.workDir, 'rootfs'),
    dockerfile,
    volumes: target.instructions.flatMap((i) => (i.kind === 'VOLUME' ? i.paths : [])),
    exposed: target.instructions.flatMap((i) => (i.kind === 'EXPOSE' ? i.ports : [])),
    entrypoint: last(target, 'ENTRYPOINT')?.args ?? [],
    cmd: last(target, 'CMD')?.args ?? [],
    healthcheck: healthcheck ? { options: healthcheck.options, command: healthcheck.command } : undefined,
  };
}

export interface RunOptions {
  /** Replaces CMD (arguments after the image name in `docker run`). */
  args?: string[];
  /** `-e NAME=value`. */
  env?: Record<string, string>;
  /** `-v host:container`: the container path becomes a link to the host folder. */
  volumes?: Record<string, string>;
}

/** Files under a root (not volumes, which are links here), with size and mtime. */
export function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (!entry.isSymbolicLink()) {
        const info = lstatSync(full);
        files.set(path.relative(root, full), `${info.size}:${info.mtimeMs}`);
      }
    }
  };
  walk(root);
  return files;
}

/** Files added or changed under a root since `before`: what a container wrote outside its volumes. */
export function written(root: string, before: Map<string, string>): string[] {
  const after = snapshot(root);
  return [...after].filter(([file, stamp]) => before.get(file) !== stamp).map(([file]) => `/${file}`);
}

/**
 * Moves the image's filesystem to the one path every container runs at: absolute paths a container
 * records (the registry stores its artifact store's absolute location) mean the same in the next one,
 * as they do in Docker. One container at a time.
 */
function activate(image: Image): () => void {
  if (image.root === image.rootfs) throw new Error('this image already runs a container');
  if (existsSync(image.rootfs)) throw new Error('another container is running; stop it first');
  const built = image.root;
  renameSync(built, image.rootfs);
  image.root = image.rootfs;
  return () => {
    renameSync(image.rootfs, built);
    image.root = built;
  };
}

function mountVolumes(image: Image, volumes: Record<string, string>): void {
  for (const [containerPath, host] of Object.entries(volumes)) {
    const target = hostPath(image.root, containerPath);
    if (existsSync(target) && lstatSync(target).isSymbolicLink()) rmSync(target);
    else if (existsSync(target)) {
      if (readdirSync(target).length > 0)
        throw new Error(`volume over a non-empty image folder ${containerPath}`);
      rmSync(target, { recursive: true });
    }
    mkdirSync(path.dirname(target), { recursive: true });
    symlinkSync(host, target);
  }
}

/** The environment a container process gets: the image's ENV, `-e` values, PATH and a fresh HOME. */
function containerEnv(image: Image, env: Record<string, string> = {}): Record<string, string> {
  const home = path.join(path.dirname(image.root), `${path.basename(image.root)}-home`);
  mkdirSync(home, { recursive: true });
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...image.env, ...env };
}

/** `docker run --rm <image> [args]` to completion: exit code and output. */
export async function runToEnd(image: Image, options: RunOptions = {}): Promise<Exit> {
  const deactivate = activate(image);
  try {
    mountVolumes(image, options.volumes ?? {});
    const argv = [...image.entrypoint, ...(options.args ?? image.cmd)];
    return await run(argv[0], argv.slice(1), {
      cwd: hostPath(image.root, image.workdir),
      env: containerEnv(image, options.env),
    });
  } finally {
    deactivate();
  }
}

/** `docker run -d <image>`: the process, its output so far, and `stop()` (SIGTERM, as docker stop). */
export function start(image: Image, options: RunOptions = {}) {
  const deactivate = activate(image);
  let child: ReturnType<typeof spawn>;
  try {
    mountVolumes(image, options.volumes ?? {});
    const argv = [...image.entrypoint, ...(options.args ?? image.cmd)];
    child = spawn(argv[0], argv.slice(1), {
      cwd: hostPath(image.root, image.workdir),
      env: containerEnv(image, options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    deactivate();
    throw error;
  }
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => {
    output.stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output.stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      deactivate();
      resolve(code);
    }),
  );
  return {
    child,
    output,
    exited,
    /** SIGTERM, then SIGKILL after `graceMs` (docker stop's default is 10 s); the exit code. */
    async stop(graceMs = 10_000): Promise<number | null> {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The HEALTHCHECK command in a running container's environment: its exit code. */
export async function healthcheck(image: Image, env: Record<string, string> = {}): Promise<number | null> {
  if (!image.healthcheck) throw new Error('the image declares no HEALTHCHECK');
  const [command, ...args] = image.healthcheck.command;
  const result = await run(command, args, {
    cwd: hostPath(image.root, image.workdir),
    env: containerEnv(image, env),
    timeoutMs: 10_000,
  });
  return result.code;
}

/** CA settings this machine reaches the npm registry with, for the emulated image's npm and Node. */
function registryTrust(): Record<string, string> {
  const trust: Record<string, string> = {};
  if (process.env.NODE_EXTRA_CA_CERTS) trust.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  if (process.env.npm_config_cafile) trust.npm_config_cafile = process.env.npm_config_cafile;
  else if (process.env.NODE_EXTRA_CA_CERTS) trust.npm_config_cafile = process.env.NODE_EXTRA_CA_CERTS;
  return trust;
}
