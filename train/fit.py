"""`train fit`: the paper's recipe (random crops, [-1, 1] scaling, MAE (+ GAN), Adam with cosine
decay), validation keeping best.pt and last.pt, exact resume, and DistributedDataParallel
when launched by torchrun. A model whose registry spec has a closed-form solver (`linear`)
is solved instead."""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from device.captures import CaptureSet
from device.common.errors import UserError
from train import distributed
from device.sim.light import Levels
from train.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from train.data import (FROM_REFLECTANCE, TO_SRGB, CropSampler, Scenes, check_inputs,
                        check_split)
from train.light import (LightCropSampler, LightRecipe, ThinnedScenes, to_network,
                         validation_levels, white_sigma)
from train.infer import predict
from train.models import build_discriminator, build_model, model_config, model_spec
from train.plots import plot_loss_curve
from train.tables import write_csv

# `--stop-at N` (hidden, for tests): end the process after iteration N as a kill would, with
# no further checkpoint, so resuming is tested without racing a signal against training.
STOPPED_EXIT = 128 + 9     # what a shell reports for a SIGKILLed process
LOG_COLUMNS = ("iteration", "lr", "loss", "loss_adv", "loss_d", "loss_stability",
               "loss_teacher", "val_mae", "seconds")


# Recipe keys added with training over light levels, as a run without them had them.
RECIPE_DEFAULTS = {"light": None, "stability": 0.0, "teacher": None, "teacher_weight": 1.0,
                   "init": None, "freeze": []}


def light_recipe(args) -> LightRecipe | None:
    """The light and gain drawn per crop (`--light`, `--gain`), or None: the set as captured."""
    from device.sim.light import Levels, parse_levels

    light = getattr(args, "light", None)
    gain = getattr(args, "gain", None)
    if light is None:
        for option, given in (("--gain", gain is not None),
                              ("--noise-input", getattr(args, "noise_input", False)),
                              ("--stability", getattr(args, "stability", 0.0) > 0),
                              ("--teacher", getattr(args, "teacher", None) is not None)):
            if given:
                raise UserError(f"{option} needs --light: the crops' light and noise are drawn "
                                "only when training over a range of light levels.")
        return None
    return LightRecipe(parse_levels(light, "--light", lists=False),
                       Levels(1.0, 1.0) if gain is None else
                       parse_levels(gain, "--gain", lists=False))


def run_config(args, cs: CaptureSet) -> dict[str, Any]:
    """The checkpoint config (plain JSON) this invocation trains, validated against `cs`."""
    inputs = check_inputs(cs, tuple(args.inputs))
    options = {k: getattr(args, k) for k in ("base", "patch") if getattr(args, k) is not None}
    if getattr(args, "noise_input", False):
        options["noise_input"] = 1
    lights = light_recipe(args)
    if getattr(args, "stability", 0.0) < 0:
        raise UserError(f"--stability must be 0 or more, not {args.stability}.")
    if getattr(args, "teacher_weight", 1.0) < 0:
        raise UserError(f"--teacher-weight must be 0 or more, not {args.teacher_weight}.")
    model_cfg = model_config({"name": args.model, "in_channels": len(inputs), **options})
    extra_loss = [o for o, given in (("--stability", getattr(args, "stability", 0.0) > 0),
                                     ("--teacher", getattr(args, "teacher", None) is not None))
                  if given]
    if len(extra_loss) > 1:
        raise UserError("--stability and --teacher are two ways of training; give one.")
    if extra_loss and model_spec(model_cfg).discriminator is not None:
        raise UserError(f"{extra_loss[0]} does not combine with the adversarial training of "
                        f"{args.model!r}.")
    for option in ("init", "teacher"):      # refused before the run folder is made
        if getattr(args, option, None) is not None:
            read_checkpoint(getattr(args, option))
    network = build_model(model_cfg)
    multiple = network.spatial_multiple
    freeze(network, getattr(args, "freeze", None) or ())   # refuses unknown layer names now
    closed_form = model_spec(model_cfg).closed_form is not None
    if args.crop % multiple and not closed_form:   # a closed-form fit sees whole images
        raise UserError(f"--crop {args.crop} must be a multiple of {multiple} for model "
                        f"{args.model!r}.")
    for name in ("iters", "crop", "batch", "val_every"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1.")
    if not args.lr > 0:
        raise UserError(f"--lr must be positive, not {args.lr}.")
    config = {
        "model": model_cfg, "inputs": list(inputs), "truth_mode": cs.truth_mode,
        "normalisation": {"input": dict(FROM_REFLECTANCE), "output": dict(TO_SRGB)},
        "spatial_multiple": multiple,
        "recipe": {"iters": args.iters, "crop": args.crop, "batch": args.batch, "lr": args.lr,
                   "seed": args.seed, "val_every": args.val_every,
                   "gan_lambda": args.gan_lambda, "ridge": args.ridge,
                   "light": None if lights is None else lights.to_config(),
                   "stability": getattr(args, "stability", 0.0),
                   "teacher": None if getattr(args, "teacher", None) is None else
                   str(args.teacher),
                   "teacher_weight": getattr(args, "teacher_weight", 1.0),
                   "init": None if getattr(args, "init", None) is None else
                   str(Path(args.init).resolve()),
                   "freeze": sorted(getattr(args, "freeze", None) or [])},
        "data": str(cs.root.resolve()),
    }
    _check_init(args, model_cfg, inputs)
    return config


def _check_init(args, model_cfg: dict, inputs: tuple[int, ...]) -> None:
    """`--init CKPT` (fine-tuning) must be the same model reading the same inputs (a noise-level
    input may be added): refused here, before the run folder is made."""
    if getattr(args, "init", None) is None:
        return
    source = read_checkpoint(args.init)["config"]
    own = {k: v for k, v in model_cfg.items() if k != "noise_input"}
    theirs = {k: v for k, v in source.get("model", {}).items() if k != "noise_input"}
    if own != theirs or tuple(source.get("inputs", ())) != tuple(inputs):
        raise UserError(f"--init {args.init}: its model {theirs} on {source.get('inputs')} nm "
                        f"is not the {own} on {list(inputs)} nm being trained.")


def freeze(model, prefixes) -> list:
    """Stop training the parameters whose names start with one of `prefixes` (e.g. "decoder",
    "encoder.4"); returns the modules they make up, whose BatchNorm statistics must stay too."""
    names = [name for name, _ in model.named_parameters()]
    unused = [p for p in prefixes if not any(n.startswith(p) for n in names)]
    if unused:
        raise UserError(f"--freeze: the model has no parameters named {unused[0]}* (its "
                        f"layers: {', '.join(sorted({n.rsplit('.', 2)[0] for n in names}))}).")
    for name, parameter in model.named_parameters():
        if name.startswith(tuple(prefixes)):
            parameter.requires_grad_(False)
    return [module for name, module in model.named_modules()
            if name and name.startswith(tuple(prefixes))]


def cosine_lr(base: float, iteration: int, total: int) -> float:
    return base * 0.5 * (1.0 + math.cos(math.pi * iteration / total))


@torch.no_grad()
def validation_mae(model, scenes: Scenes, names: list[str], multiple: int,
                   levels: dict[str, float] | None = None) -> float:
    """Mean absolute error in [-1, 1] units over whole validation images; with `levels`
    (`scenes` then `ThinnedScenes`), each image thinned to its light, the same draw each time."""
    errors = []
    for i, name in enumerate(names):
        noise = None
        if levels is None:
            nir, rgb = scenes.load(name)
        else:
            rgb = scenes.source(name)[1]
            whole = (slice(None), slice(None))
            nir = to_network(scenes.reflectance(name, whole, levels[name], 1.0,
                                                np.random.default_rng([i, 0x7A1])))
            if model.config.get("noise_input"):
                noise = torch.from_numpy(white_sigma(scenes.white_e, [levels[name]],
                                                     scenes.rig.read_noise_e))
        pred = predict(model, torch.from_numpy(nir)[None], multiple, noise=noise)
        errors.append(float((pred[0] - torch.from_numpy(rgb)).abs().mean()))
    model.train()
    return float(np.mean(errors))


def _previous_run(run: Path, config: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    last = run / "last.pt"
    if not resume:
        if last.exists():
            raise UserError(f"{run} already holds a training run; add --resume to continue it "
                            "or choose another --out.")
        return None
    if not last.exists():
        raise UserError(f"{last}: nothing to resume (no such checkpoint).")
    payload = read_checkpoint(last)
    old = dict(payload["config"])
    # a run started before the light options existed had them off
    old["recipe"] = {**RECIPE_DEFAULTS, **old.get("recipe", {})}
    old["model"] = model_config(old.get("model", {}))
    for key in ("model", "inputs", "recipe", "data"):
        if old.get(key) != config[key]:
            raise UserError(f"--resume: {run} was started with a different {key} "
                            f"({old.get(key)!r}); resume with the same options.")
    return payload


def run_fit(args) -> int:
    process = distributed.start()
    try:
        cs = CaptureSet.open(args.data)
        config = run_config(args, cs)
        scenes = (Scenes(cs, tuple(config["inputs"])) if config["recipe"]["light"] is None
                  else ThinnedScenes(cs, tuple(config["inputs"])))
        train_names, val_names = check_split(cs, "train"), check_split(cs, "val")
        run = Path(args.out)
        payload = _previous_run(run, config, args.resume)
        if config["recipe"]["batch"] % process.world:
            raise UserError(f"--batch {args.batch} must be divisible by the {process.world} "
                            "processes torchrun started.")
        if process.is_main:
            run.mkdir(parents=True, exist_ok=True)
        process.barrier()
        if model_spec(config["model"]).closed_form is not None:
            if process.is_main:
                _fit_closed_form(config, scenes, train_names, val_names, run)
        else:
            Trainer(config, scenes, train_names, val_names, run, process, payload).run(
                stop_at=getattr(args, "stop_at", None))
        process.barrier()
        return 0
    finally:
        distributed.stop(process)


def _fit_closed_form(config, scenes: Scenes, train_names, val_names, run: Path) -> None:
    """Closed-form fit (linear: ridge regression), streaming whole training images."""
    from tqdm import tqdm

    model = build_model(config["model"])
    regression = model_spec(config["model"]).closed_form(model)
    label = config["model"]["name"]
    for name in tqdm(train_names, desc=f"fit {label} (closed form)", unit="scene"):
        nir, rgb = scenes.load(name)
        regression.add(torch.from_numpy(nir)[None], torch.from_numpy(rgb)[None])
    regression.solve(config["recipe"]["ridge"])
    val = validation_mae(model, scenes, val_names, config["spatial_multiple"])
    history = [{"iteration": 0, "val_mae": val}]
    for name in ("best.pt", "last.pt"):
        save_checkpoint(run / name, model, config, extra={"iteration": 0, "val_mae": val,
                                                          "history": history})
    write_csv(run / "log.csv", history, LOG_COLUMNS)
    print(f"{label}: validation MAE {val:.4f} ([-1, 1] units); wrote {run / 'best.pt'}")


class Trainer:
    """Adam + cosine decay on MAE; for unet-gan also pix2pix's conditional PatchGAN loss."""

    def __init__(self, config, scenes: Scenes, train_names, val_names, run: Path,
                 process: distributed.Process, payload: dict[str, Any] | None):
        self.config, self.scenes, self.val_names, self.run_dir = config, scenes, val_names, run
        self.process = process
        self.recipe = recipe = config["recipe"]
        self.gan = model_spec(config["model"]).discriminator is not None
        torch.manual_seed(recipe["seed"])   # same initial weights on every process
        self.model = build_model(config["model"]).to(process.device)
        self.frozen = freeze(self.model, recipe.get("freeze") or ())
        # pix2pix's Adam betas for the adversarial pair; torch defaults otherwise.
        betas = (0.5, 0.999) if self.gan else (0.9, 0.999)
        self.opt = torch.optim.Adam(self.model.parameters(), recipe["lr"], betas=betas)
        self.disc = self.opt_d = None
        if self.gan:
            self.disc = build_discriminator(config["model"]).to(process.device)
            self.opt_d = torch.optim.Adam(self.disc.parameters(), recipe["lr"], betas=betas)
        self.start, self.history, self.best, self.seconds = 0, [], math.inf, 0.0
        if payload is not None:
            self._restore(payload)
        elif recipe.get("init"):
            self._initialise(recipe["init"])
        self.levels = self.teacher = None
        if recipe.get("teacher"):
            self.teacher = load_checkpoint(recipe["teacher"])[0].to(process.device)
            self.teacher.requires_grad_(False)
            if self.teacher.config.get("noise_input"):
                raise UserError(f"--teacher {recipe['teacher']}: a teacher sees the crops at "
                                "the nominal light and takes no noise level.")
        if recipe.get("light") is None:
            self.sampler = CropSampler(scenes, train_names, recipe["crop"], recipe["seed"])
        else:
            lights = LightRecipe(Levels(*recipe["light"]["light"]), Levels(*recipe["light"]["gain"]))
            self.sampler = LightCropSampler(scenes, train_names, recipe["crop"], recipe["seed"],
                                            lights, noise_input=bool(config["model"].get(
                                                "noise_input")),
                                            twins=recipe.get("stability", 0.0) > 0,
                                            bright=recipe.get("teacher") is not None)
            self.levels = validation_levels(lights, val_names, recipe["seed"])
        self.net, self.dnet = self.model, self.disc
        if process.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP
            ids = [process.device.index] if process.device.type == "cuda" else None
            self.net = DDP(self.model, device_ids=ids)
            if self.gan:
                self.dnet = DDP(self.disc, device_ids=ids)

    def _initialise(self, path: str) -> None:
        """Start from another checkpoint's weights (fine-tuning); parameters this model adds
        (a noise-level input) keep their initialisation, which leaves the output unchanged."""
        init_model, init_config = load_checkpoint(path)
        own = {k: v for k, v in self.model.config.items() if k != "noise_input"}
        theirs = {k: v for k, v in init_config["model"].items() if k != "noise_input"}
        if own != theirs:
            raise UserError(f"--init {path}: its model {theirs} is not this run's {own}.")
        missing, unexpected = self.model.load_state_dict(init_model.state_dict(), strict=False)
        if unexpected or any(not k.startswith("noise_bias.") for k in missing):
            raise UserError(f"--init {path}: its weights do not fit this run's model.")

    def _restore(self, payload) -> None:
        extra = payload["extra"]
        self.model.load_state_dict(payload["state_dict"])
        self.opt.load_state_dict(extra["optimizer"])
        if self.gan:
            self.disc.load_state_dict(extra["discriminator"])
            self.opt_d.load_state_dict(extra["optimizer_d"])
        torch.set_rng_state(extra["torch_rng"])
        self.start, self.history = extra["iteration"], list(extra["history"])
        self.best, self.seconds = extra["best_val_mae"], extra["seconds"]

    def step(self, nir: torch.Tensor, rgb: torch.Tensor, noise: torch.Tensor | None = None,
             twin: torch.Tensor | None = None, bright: torch.Tensor | None = None
             ) -> dict[str, float]:
        if bright is not None:
            return self._taught_step(nir, rgb, noise, bright)
        if twin is not None:
            # Two noise draws of each crop in one forward (BatchNorm sees both): L1 on each,
            # plus the stability term, the L1 distance between the two outputs.
            noise2 = None if noise is None else torch.cat([noise, noise])
            fake, fake2 = self.net(torch.cat([nir, twin]), *(
                () if noise2 is None else (noise2,))).chunk(2)
            l1 = 0.5 * (F.l1_loss(fake, rgb) + F.l1_loss(fake2, rgb))
            unstable = F.l1_loss(fake, fake2)
            self.opt.zero_grad(set_to_none=True)
            (l1 + self.recipe["stability"] * unstable).backward()
            self.opt.step()
            return {"loss": l1.detach(), "loss_stability": unstable.detach()}
        fake = self.net(nir) if noise is None else self.net(nir, noise)
        l1 = F.l1_loss(fake, rgb)
        if not self.gan:
            self.opt.zero_grad(set_to_none=True)
            l1.backward()
            self.opt.step()
            return {"loss": l1.detach()}
        bce = F.binary_cross_entropy_with_logits
        # Discriminator: real and generated pairs in one forward (one DDP synchronisation).
        logits = self.dnet(torch.cat([nir, nir]), torch.cat([rgb, fake.detach()]))
        real, gen = logits.chunk(2)
        loss_d = 0.5 * (bce(real, torch.ones_like(real)) + bce(gen, torch.zeros_like(gen)))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # Generator: fool the (frozen) discriminator + lambda * L1 (pix2pix).
        self.disc.requires_grad_(False)
        gen = self.disc(nir, fake)
        loss_adv = bce(gen, torch.ones_like(gen))
        self.opt.zero_grad(set_to_none=True)
        (loss_adv + self.recipe["gan_lambda"] * l1).backward()
        self.opt.step()
        self.disc.requires_grad_(True)
        return {"loss": l1.detach(), "loss_adv": loss_adv.detach(), "loss_d": loss_d.detach()}

    def _taught_step(self, nir, rgb, noise, bright) -> dict[str, float]:
        """L1 to the truth + weight × L1 to the teacher's output on the same crop at the
        nominal light it was trained at (`bright`): the student at every light keeps what the
        teacher decides where the readings alone cannot (orange and pink read alike in the
        NIR; context and the learnt prior decide, and fine-tuning can flip them)."""
        with torch.no_grad():
            taught = self.teacher.eval()(bright)
        fake = self.net(nir) if noise is None else self.net(nir, noise)
        l1 = F.l1_loss(fake, rgb)
        distil = F.l1_loss(fake, taught)
        self.opt.zero_grad(set_to_none=True)
        (l1 + self.recipe["teacher_weight"] * distil).backward()
        self.opt.step()
        return {"loss": l1.detach(), "loss_teacher": distil.detach()}

    def run(self, stop_at: int | None = None) -> None:
        from tqdm import tqdm

        recipe, process = self.recipe, self.process
        total = recipe["iters"]
        sums: dict[str, torch.Tensor] = {}
        count = 0
        bar = tqdm(total=total, initial=self.start, disable=not process.is_main,
                   desc=f"fit {self.config['model']['name']}", unit="it", dynamic_ncols=True)
        self._train_mode()
        tick = time.perf_counter()
        for it in range(self.start, total):
            lr = cosine_lr(recipe["lr"], it, total)
            for opt in filter(None, (self.opt, self.opt_d)):
                for group in opt.param_groups:
                    group["lr"] = lr
            batch = self.sampler.sample(it, recipe["batch"], process.rank, process.world)
            losses = self.step(*(None if t is None else t.to(process.device) for t in batch))
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
            bar.update(1)
            bar.set_postfix(loss=f"{float(losses['loss']):.4f}", refresh=False)
            if (it + 1) % recipe["val_every"] == 0 or it + 1 == total:
                self.seconds += time.perf_counter() - tick
                row = {"iteration": it + 1, "lr": lr, "seconds": round(self.seconds, 3)}
                row.update({k: self._mean_over_processes(v) / count for k, v in sums.items()})
                sums, count = {}, 0
                self._checkpoint(row)
                self._train_mode()
                tick = time.perf_counter()
            if it + 1 == stop_at:
                raise SystemExit(STOPPED_EXIT)
        bar.close()
        if process.is_main:
            print(f"fit: best validation MAE {self.best:.4f} ([-1, 1] units); wrote "
                  f"{self.run_dir / 'best.pt'} and last.pt")

    def _train_mode(self) -> None:
        """Training mode, but frozen layers (`--freeze`) keep their BatchNorm statistics."""
        self.model.train()
        for module in self.frozen:
            module.eval()

    def _mean_over_processes(self, value: torch.Tensor) -> float:
        if self.process.world > 1:
            value = value.clone()
            torch.distributed.all_reduce(value)
            value /= self.process.world
        return float(value)

    def _checkpoint(self, row: dict[str, Any]) -> None:
        """Validate, keep best.pt, write last.pt (with everything resume needs), log, plot."""
        if self.process.is_main:
            row["val_mae"] = validation_mae(self.model, self.scenes, self.val_names,
                                            self.config["spatial_multiple"], self.levels)
            self.history.append(row)
            if row["val_mae"] < self.best:
                self.best = row["val_mae"]
                save_checkpoint(self.run_dir / "best.pt", self.model, self.config,
                                extra={"iteration": row["iteration"], "val_mae": self.best})
            extra = {"iteration": row["iteration"], "optimizer": self.opt.state_dict(),
                     "torch_rng": torch.get_rng_state(), "history": self.history,
                     "best_val_mae": self.best, "seconds": self.seconds}
            if self.gan:
                extra.update(discriminator=self.disc.state_dict(),
                             optimizer_d=self.opt_d.state_dict())
            save_checkpoint(self.run_dir / "last.pt", self.model, self.config, extra=extra)
            write_csv(self.run_dir / "log.csv", self.history, LOG_COLUMNS)
            plot_loss_curve(self.history, self.run_dir / "loss.png")
        self.process.barrier()


def add_fit_options(parser) -> None:
    """Options shared by `train fit` and `train ablate` (defaults: the paper's recipe)."""
    from train.models import MODEL_NAMES

    parser.add_argument("--data", required=True, help="capture set folder")
    parser.add_argument("--model", required=True, choices=MODEL_NAMES)
    parser.add_argument("--iters", type=int, default=100_000, help="iterations (paper: 100000)")
    parser.add_argument("--crop", type=int, default=256, help="random crop side (paper: 256)")
    parser.add_argument("--batch", type=int, default=4,
                        help="global batch, split over torchrun processes (not in the paper)")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam, cosine decay (paper: 1e-4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-every", type=int, default=1000,
                        help="validate and checkpoint every K iterations")
    parser.add_argument("--base", "--width", dest="base", type=int,
                        help="first-layer width of unet / unet-gan / edge (default 64 / 64 / 16)")
    parser.add_argument("--patch", type=int, help="linear: patch side (paper: 6, 12, 24, 64)")
    parser.add_argument("--ridge", type=float, default=1e-3,
                        help="linear: ridge penalty relative to the mean diagonal of XᵀX")
    parser.add_argument("--gan-lambda", type=float, default=100.0,
                        help="unet-gan: weight of L1 against the adversarial loss (pix2pix)")
    parser.add_argument("--light", metavar="LO-HI",
                        help="train at every light level: each crop thinned to photons drawn "
                             "log-uniformly in LO-HI, relative to the set's white references "
                             "(e.g. 1/16-2; the set must be captured at least at HI, e.g. "
                             "`device capture --light 2`); default: the set as captured")
    parser.add_argument("--gain", metavar="G|LO-HI",
                        help="with --light: analogue gain per crop, log-uniform (default 1); "
                             "a bright crop at a high gain clips at the top code")
    parser.add_argument("--noise-input", action="store_true",
                        help="with --light: the model also takes each input's σ at paper white")
    parser.add_argument("--stability", type=float, default=0.0, metavar="W",
                        help="with --light: two noise draws of each crop, + W × the L1 distance "
                             "between their outputs (default 0: off)")
    parser.add_argument("--init", metavar="CKPT",
                        help="start from this checkpoint's weights (same model and width)")
    parser.add_argument("--freeze", type=lambda text: [p for p in text.split(",") if p],
                        metavar="PREFIX,...",
                        help="keep the parameters whose names start with these as they are "
                             "(e.g. with --init: decoder,head), BatchNorm statistics included")
    parser.add_argument("--teacher", metavar="CKPT",
                        help="with --light: + W × the L1 distance to this model's output on "
                             "each crop at the nominal light (1); W: --teacher-weight")
    parser.add_argument("--teacher-weight", type=float, default=1.0, metavar="W",
                        help="weight of the --teacher term (default 1)")


def register(subparsers) -> None:
    from train.data import DEFAULT_INPUTS, parse_inputs

    parser = subparsers.add_parser(
        "fit", help="train one model on a capture set",
        description="Train a model with the paper's recipe; run under torchrun for several GPUs. "
                    "linear is solved in closed form over whole training images (--iters, "
                    "--crop, --batch, --lr do not apply to it).")
    add_fit_options(parser)
    parser.add_argument("--inputs", type=parse_inputs, default=DEFAULT_INPUTS,
                        help="input wavelengths in nm, e.g. 718,777,807 (default)")
    parser.add_argument("--out", required=True, help="run folder (best.pt, last.pt, log.csv, loss.png)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--stop-at", type=int, help=argparse.SUPPRESS)
    parser.set_defaults(func=run_fit)
