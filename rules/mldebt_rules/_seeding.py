"""Which random generators a program seeds, and where: shared by the reproducibility rules.

Not a rule module: it holds library knowledge (the functions that draw from a global random
generator, those that seed one) and :class:`SeedTracker`, which follows the seeding calls of
one file in source order during the shared traversal.

A *family* is one global generator: Python's ``random``, numpy's legacy global generator,
torch's default generator, TensorFlow's global seed. The flow model, documented in the
reproducibility rules' docs:

* module-level code (every cell of a notebook) is seeded by a seed that ran before it at
  module level;
* code inside a function is seeded by an earlier seed in the same function, by a module-level
  seed anywhere in the file (functions run after the module has been imported), or by a seed
  in another function of the file (an entry point such as ``main()`` seeding before it calls
  the helpers);
* a seed is a call to a seeding function of a library (``np.random.seed``, ``torch.manual_seed``,
  ``transformers.set_seed`` ...), to a function of the file that seeds, or to an imported
  function whose name says it seeds (``seed_everything``, ``set_seed``): its body is in
  another file, so it is trusted to seed every family;
* code inside functions is judged only when the file itself runs them (see
  :class:`SeedTracker`): functions of a library module are run by programs in other files,
  which own the seeding, and a file rule cannot see those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from mldebt.context import FileContext
from mldebt.resolve import Resolver
from mldebt.resolve.kinds import argument, keyword
from mldebt.traversal import Scope

RANDOM = "random"
NUMPY = "numpy"
TORCH = "torch"
TENSORFLOW = "tensorflow"
FAMILIES = (RANDOM, NUMPY, TORCH, TENSORFLOW)
FAMILY_NAMES = {
    RANDOM: "Python's random module",
    NUMPY: "numpy's global generator",
    TORCH: "torch's default generator",
    TENSORFLOW: "TensorFlow's global seed",
}

_RANDOM_DRAWS = frozenset(
    {
        "random",
        "uniform",
        "randint",
        "randrange",
        "choice",
        "choices",
        "shuffle",
        "sample",
        "gauss",
        "normalvariate",
        "lognormvariate",
        "expovariate",
        "vonmisesvariate",
        "gammavariate",
        "betavariate",
        "paretovariate",
        "weibullvariate",
        "triangular",
        "getrandbits",
        "randbytes",
        "binomialvariate",
    }
)
_NUMPY_DRAWS = frozenset(
    {
        "beta",
        "binomial",
        "bytes",
        "chisquare",
        "choice",
        "dirichlet",
        "exponential",
        "f",
        "gamma",
        "geometric",
        "gumbel",
        "hypergeometric",
        "laplace",
        "logistic",
        "lognormal",
        "logseries",
        "multinomial",
        "multivariate_normal",
        "negative_binomial",
        "noncentral_chisquare",
        "noncentral_f",
        "normal",
        "pareto",
        "permutation",
        "poisson",
        "power",
        "rand",
        "randint",
        "randn",
        "random",
        "random_integers",
        "random_sample",
        "ranf",
        "rayleigh",
        "sample",
        "shuffle",
        "standard_cauchy",
        "standard_exponential",
        "standard_gamma",
        "standard_normal",
        "standard_t",
        "triangular",
        "uniform",
        "vonmises",
        "wald",
        "weibull",
        "zipf",
    }
)
_TORCH_DRAWS = frozenset(
    {
        "rand",
        "randn",
        "randint",
        "randperm",
        "rand_like",
        "randn_like",
        "randint_like",
        "bernoulli",
        "multinomial",
        "normal",
        "poisson",
    }
)
_TF_DRAWS = frozenset(
    {
        "random.normal",
        "random.uniform",
        "random.truncated_normal",
        "random.shuffle",
        "random.categorical",
        "random.gamma",
        "random.poisson",
        "random_normal",
        "random_uniform",
        "truncated_normal",
        "random_shuffle",
        "multinomial",
        "compat.v1.random_normal",
        "compat.v1.random_uniform",
        "compat.v1.random_shuffle",
        "compat.v1.truncated_normal",
    }
)
_KERAS_DRAWS = frozenset({"normal", "uniform", "truncated_normal", "shuffle", "randint"})


def draw_family(qualname: str, call: cst.Call) -> str | None:
    """The global generator ``call`` (to ``qualname``) draws from, if it draws from one."""
    head, _, rest = qualname.partition(".")
    if head == "random":
        return RANDOM if rest in _RANDOM_DRAWS else None
    if head == "numpy":
        if rest.startswith("random.") and rest[len("random.") :] in _NUMPY_DRAWS:
            return NUMPY
        return None
    if head == "torch":
        if rest in _TORCH_DRAWS and keyword(call, "generator") is None:
            return TORCH
        return None
    if head == "tensorflow":
        if rest in _TF_DRAWS and keyword(call, "seed") is None:
            return TENSORFLOW
        return None
    if (
        head == "keras"
        and rest.startswith("random.")
        and rest[len("random.") :] in _KERAS_DRAWS
        and keyword(call, "seed") is None
    ):
        return TENSORFLOW
    return None


_ALL = frozenset(FAMILIES)
_SEEDERS: dict[str, frozenset[str]] = {
    "random.seed": frozenset({RANDOM}),
    "numpy.random.seed": frozenset({NUMPY}),
    "torch.manual_seed": frozenset({TORCH}),
    "torch.random.manual_seed": frozenset({TORCH}),
    "tensorflow.random.set_seed": frozenset({TENSORFLOW}),
    "tensorflow.set_random_seed": frozenset({TENSORFLOW}),
    "tensorflow.random.set_random_seed": frozenset({TENSORFLOW}),
    "tensorflow.compat.v1.set_random_seed": frozenset({TENSORFLOW}),
    "tensorflow.compat.v1.random.set_random_seed": frozenset({TENSORFLOW}),
    "keras.utils.set_random_seed": _ALL,
    "transformers.set_seed": _ALL,
    "transformers.trainer_utils.set_seed": _ALL,
    "transformers.enable_full_determinism": _ALL,
    "transformers.trainer_utils.enable_full_determinism": _ALL,
    "accelerate.utils.set_seed": _ALL,
    "lightning.seed_everything": _ALL,
    "lightning.pytorch.seed_everything": _ALL,
    "lightning.fabric.seed_everything": _ALL,
    "lightning_fabric.seed_everything": _ALL,
    "lightning_fabric.utilities.seed.seed_everything": _ALL,
    "pytorch_lightning.seed_everything": _ALL,
    "pytorch_lightning.utilities.seed.seed_everything": _ALL,
    "fastai.torch_core.set_seed": _ALL,
    "mmengine.runner.set_random_seed": _ALL,
    "mmcv.runner.set_random_seed": _ALL,
    "detectron2.utils.env.seed_all_rng": _ALL,
    "ignite.utils.manual_seed": _ALL,
    "monai.utils.set_determinism": _ALL,
    "stable_baselines3.common.utils.set_random_seed": _ALL,
}
# Libraries whose seeding functions are all in the table above: a call into them that is not
# listed does not seed (``torch.cuda.manual_seed`` seeds the GPU generators only).
_KNOWN_LIBRARIES = frozenset(
    {"random", "numpy", "torch", "tensorflow", "keras", "sklearn", "pandas", "transformers"}
)
_SEED_NAME = re.compile(r"seed", re.IGNORECASE)
_NOT_A_SEEDER = re.compile(r"^get|worker|generator|^_*seed_?$", re.IGNORECASE)


def _is_none(node: cst.BaseExpression | None) -> bool:
    return node is None or (isinstance(node, cst.Name) and node.value == "None")


def seeded_families(qualname: str, call: cst.Call) -> frozenset[str]:
    """The global generators a call to the library function ``qualname`` seeds."""
    found = _SEEDERS.get(qualname)
    if found is None:
        return frozenset()
    if qualname in ("random.seed", "numpy.random.seed"):
        value = argument(call, 0, "a" if qualname == "random.seed" else "seed")
        if _is_none(value):
            return frozenset()  # seed() / seed(None): from the OS or the clock
    return found


def looks_like_seeder(qualname: str) -> bool:
    """An imported function whose name says it seeds (``utils.seed_everything``)."""
    if qualname.partition(".")[0] in _KNOWN_LIBRARIES:
        return False
    last = qualname.rpartition(".")[2]
    return bool(_SEED_NAME.search(last)) and not _NOT_A_SEEDER.search(last)


# Constructors of generators that are seeded from the OS when given no seed.
_GENERATOR_SEED_ARG = {
    "numpy.random.default_rng": "seed",
    "numpy.random.RandomState": "seed",
    "numpy.random.PCG64": "seed",
    "numpy.random.PCG64DXSM": "seed",
    "numpy.random.MT19937": "seed",
    "numpy.random.Philox": "seed",
    "numpy.random.SFC64": "seed",
    "numpy.random.SeedSequence": "entropy",
    "random.Random": "x",
}


def unseeded_generator(qualname: str, call: cst.Call) -> bool:
    """A generator constructed without a seed (``np.random.default_rng()``)."""
    if qualname == "tensorflow.random.Generator.from_non_deterministic_state":
        return True
    name = _GENERATOR_SEED_ARG.get(qualname)
    if name is None:
        return False
    if any(arg.star for arg in call.args):
        return False
    return _is_none(argument(call, 0, name))


@dataclass
class _Seed:
    families: frozenset[str]
    order: int
    node: cst.Call | None = None


@dataclass
class Pending:
    """Code drawing from (or shuffling with) ``family``; judged once the file is walked."""

    node: cst.CSTNode
    family: str
    scope: str  # the function it is in, "" at module level
    order: int
    message: str
    in_main: bool = False  # directly under ``if __name__ == "__main__":``
    conditional: bool = False  # inside an ``if`` (other than the main guard)


_MAIN = "<main>"
_CLASS_BODY = "<class>"


@dataclass
class SeedTracker:
    """Seeding calls of one file in source order; feed it the walk's functions, classes,
    ``if`` statements and calls, and :meth:`judge` the code that needs a seed. Once the walk
    is over, :meth:`unseeded` lists the judged code no seed covers.

    Code inside a function is judged only when the file runs it: the function is called
    (or passed as a callback) from module-level code, from the main block, or from another
    function the file runs; a class the file instantiates runs all its methods. Class bodies
    do not count as code that runs the file's functions. A main block
    in a module that defines classes and calls none of its own functions there is a
    self-test of a library module (random inputs to check shapes): it is not judged.
    """

    resolver: Resolver
    notebook: bool = False
    #: The traversal's scope (tells a class body from module-level code).
    scope: Scope | None = None
    #: Seeds by the function they are in ("" for module level), in source order.
    seeds: dict[str, list[_Seed]] = field(default_factory=dict)
    #: Names called or passed as callbacks, by the function they are in ("" module, _MAIN).
    calls: dict[str, set[str]] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    #: Functions defined inside the main block (helpers of a self-test).
    main_helpers: set[str] = field(default_factory=set)
    #: Judged code in functions this file never runs and that seed nothing of its family:
    #: (rule code, item). Whoever runs them decides (the cross-module rule, MLD606).
    library: list[tuple[str, Pending]] = field(default_factory=list)
    has_main: bool = False
    #: The ``if`` statements open at this point of the walk (ids; the rules share them).
    _open_ifs: list[int] = field(default_factory=list)
    _main: cst.If | None = None
    _order: int = 0
    _last_call: cst.Call | None = None
    #: Simple names of the file's functions (callbacks passed by name are resolved).
    _short_names: set[str] = field(default_factory=set)

    @property
    def function(self) -> str:
        return self.resolver.function or ""

    def _caller(self) -> str:
        scope = self.function
        if not scope and self.scope is not None and self.scope.names:
            return _CLASS_BODY  # runs at import, but only defines the class
        if not scope and self._main is not None:
            return _MAIN
        return scope

    def next_order(self) -> int:
        self._order += 1
        return self._order

    def on_definition(self, node: cst.FunctionDef | cst.ClassDef, outer: str) -> None:
        """Record a def/class (call it from ``visit_FunctionDef``/``visit_ClassDef`` with the
        traversal's scope, which does not include the definition yet)."""
        qualname = f"{outer}.{node.name.value}" if outer else node.name.value
        (self.classes if isinstance(node, cst.ClassDef) else self.functions).add(qualname)
        self._short_names.add(node.name.value)
        if self.in_main:
            self.main_helpers.add(qualname)

    def on_if(self, node: cst.If) -> None:
        """Notice ``if __name__ == "__main__":`` at module level (from ``visit_If``)."""
        if not self._open_ifs or self._open_ifs[-1] != id(node):
            self._open_ifs.append(id(node))
        test = node.test
        if (
            self._main is None
            and not self.function
            and isinstance(test, cst.Comparison)
            and isinstance(test.left, cst.Name)
            and test.left.value == "__name__"
        ):
            self._main = node
            self.has_main = True

    @property
    def in_main(self) -> bool:
        """Whether this point is directly under the module's main guard."""
        return self._main is not None and not self.function

    def leave_if(self, node: cst.If) -> None:
        if self._open_ifs and self._open_ifs[-1] == id(node):
            self._open_ifs.pop()
        if node is self._main:
            self._main = None

    def on_call(self, call: cst.Call) -> None:
        """Record ``call`` as a seed and as an edge of the file's call graph (from
        ``visit_Call``)."""
        if call is self._last_call:
            return  # several rules share this tracker and all feed it the same call
        self._last_call = call
        order = self.next_order()
        caller = self._caller()
        called = self.calls.setdefault(caller, set())
        for arg in call.args:
            value = arg.value
            if isinstance(value, cst.Name) and value.value in self._short_names:
                passed = self.resolver.qualname(value)
                if passed is not None and passed not in self.classes:
                    called.add(passed)  # a callback; a class passed along is not instantiated
        qualname = self.resolver.call_name(call)
        if qualname is None:
            return
        called.add(qualname)
        families = seeded_families(qualname, call)
        if not families:
            defined = self.resolver.definition(qualname)
            if defined is not None and defined.kind == "function":
                families = self.seeds_of_function(qualname)
            elif defined is None and looks_like_seeder(qualname):
                families = _ALL
        if families:
            self.seeds.setdefault(self.function, []).append(_Seed(families, order, call))

    def judge(self, node: cst.CSTNode, family: str, message: str) -> Pending:
        """Code at this point that needs a seed of ``family``: keep it for :meth:`unseeded`."""
        guards = len(self._open_ifs) - (self._main is not None)
        return Pending(
            node, family, self.function, self.next_order(), message, self.in_main, guards > 0
        )

    def seeds_of_function(self, qualname: str) -> frozenset[str]:
        found: set[str] = set()
        for seed in self.seeds.get(qualname, ()):
            found |= seed.families
        return frozenset(found)

    def seeded_before(self, family: str, scope: str, order: int) -> bool:
        return any(s.order < order and family in s.families for s in self.seeds.get(scope, ()))

    def seeded_in_function(self, family: str, scope: str, order: int) -> bool:
        """For code at ``order`` inside function ``scope``, once the whole file is walked."""
        if self.seeded_before(family, scope, order):
            return True
        return any(
            family in seed.families
            for name, seeds in self.seeds.items()
            if name != scope
            for seed in seeds
        )

    def self_test(self) -> bool:
        own = self.calls.get(_MAIN, set()) & (self.functions - self.main_helpers)
        return bool(self.classes) and not own and not self.notebook

    def reachable(self) -> set[str]:
        """The functions of the file that its module-level code (or main block) runs."""
        roots = set(self.calls.get("", set()))
        if not self.self_test():
            roots |= self.calls.get(_MAIN, set())
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.classes:
                prefix = name + "."
                todo.extend(f for f in self.functions if f.startswith(prefix))
            todo.extend(self.calls.get(name, ()))
        return seen & self.functions

    def keep_library(self, code: str, pending: list[Pending]) -> None:
        """Remember the judged code of functions the file never runs itself (and which
        seed nothing of the family): another module may run them."""
        reachable = self.reachable()
        for item in pending:
            if (
                item.scope
                and not item.conditional  # `if self.augment:` depends on how it is called
                and item.scope not in reachable
                and not self._covered_in_library(item)
            ):
                self.library.append((code, item))

    def _covered_in_library(self, item: Pending) -> bool:
        """A seed that runs before ``item`` whoever calls it: earlier in its function, at
        the module's level (run at import), or in a method of its class (the object was
        built first). A seeding helper beside it proves nothing: it may never run."""
        family = item.family
        if self.seeded_before(family, item.scope, item.order):
            return True
        if any(family in seed.families for seed in self.seeds.get("", ())):
            return True
        owner = item.scope.rpartition(".")[0]
        while owner and owner not in self.classes:
            owner = owner.rpartition(".")[0]
        if not owner:
            return False
        prefix = owner + "."
        return any(
            family in seed.families
            for name, seeds in self.seeds.items()
            if name.startswith(prefix)
            for seed in seeds
        )

    def unseeded(self, pending: list[Pending]) -> list[Pending]:
        """The judged code that no seed covers, once the walk is over."""
        reachable = self.reachable()
        self_test = self.self_test()
        found = []
        for item in pending:
            if not item.scope:
                if item.in_main and self_test:
                    continue
                if not self.seeded_before(item.family, "", item.order):
                    found.append(item)
            elif item.scope in reachable and not self.seeded_in_function(
                item.family, item.scope, item.order
            ):
                found.append(item)
        return found


_PLOTTING_LIBRARIES = frozenset({"matplotlib", "seaborn", "plotly", "bokeh", "altair", "plotnine"})
_PLOTTING_NAMES = frozenset(
    {"cv2.imshow", "display", "IPython.display.display", "IPython.display.Image"}
)
_PLOTTING_METHODS = frozenset(
    {"imshow", "show", "plot", "scatter", "hist", "bar", "barh", "set_title", "heatmap"}
)


def tracker_for(context: FileContext) -> SeedTracker:
    """The file's one SeedTracker, shared by every rule that needs it (each feeds it the
    walk's nodes; it ignores a node it has already seen)."""
    found = context.__dict__.get("_mldebt_seed_tracker")
    if not isinstance(found, SeedTracker):
        found = SeedTracker(context.resolver, notebook=context.notebook, scope=context.scope)
        context.__dict__["_mldebt_seed_tracker"] = found
    return found


def is_plotting(qualname: str | None, call: cst.Call) -> bool:
    """A call that draws or displays something (matplotlib, seaborn, ``ax.imshow``...)."""
    if qualname is not None and (
        qualname.partition(".")[0] in _PLOTTING_LIBRARIES or qualname in _PLOTTING_NAMES
    ):
        return True
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value in _PLOTTING_METHODS


def is_test_module(path: str) -> bool:
    """A test module (pytest runs its functions; its randomness is the test suite's business)."""
    parts = path.split("/")
    name = parts[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(
            part in ("tests", "test", "testing")
            or part.startswith(("test_", "_test"))
            or part.endswith("_tests")
            for part in parts[:-1]
        )
    )


def dotted_source(node: cst.BaseExpression) -> str:
    """``np.random.rand`` for a Name/Attribute chain, else a short placeholder."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    if parts:
        return "(...)." + ".".join(reversed(parts))
    return "the call"
