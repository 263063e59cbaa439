"""The catalogue: every check type `runComplianceCheck` knows, per framework, and the evaluator
of each computed one."""

from collections.abc import Callable

from resolvers.compliance.checks import anvisa, cfm, lgpd, wcag
from resolvers.compliance.enums import Framework
from resolvers.compliance.evaluation import Evaluation
from resolvers.compliance.metrics import Metrics
from resolvers.compliance.spec import CheckSpec

CATALOGUE_LIST: tuple[CheckSpec, ...] = lgpd.SPECS + cfm.SPECS + anvisa.SPECS + wcag.SPECS
CATALOGUE: dict[tuple[Framework, str], CheckSpec] = {
    (spec.framework, spec.check_type): spec for spec in CATALOGUE_LIST
}
COMPUTED: dict[str, Callable[[CheckSpec, Metrics], Evaluation]] = {
    **lgpd.EVALUATORS,
    **cfm.EVALUATORS,
}


def specs_of(framework: Framework) -> list[CheckSpec]:
    return [spec for spec in CATALOGUE_LIST if spec.framework is framework]
