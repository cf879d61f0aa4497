"""The report filter: text from the query string to a period code, a day and codes."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mch_link import params
from scheduling import periods

from .render import FORMATS
from .rows import period_label


def period_choices(today, selected=None):
    """Years and quarters to pick from: two years back to next year, newest first."""
    choices = []
    for year in range(today.year + 1, today.year - 3, -1):
        choices.append((str(year), period_label(str(year))))
        choices += [(periods.quarter_code(year, q), period_label(periods.quarter_code(year, q))) for q in (4, 3, 2, 1)]
    if selected and selected not in dict(choices):
        choices.insert(0, (selected, period_label(selected)))
    return choices


class ReportFilterForm(forms.Form):
    period = forms.CharField(label=_("周期"), required=False, help_text=_("季度如 2027Q1，年度如 2027"))
    as_of = forms.DateField(label=_("统计截至"), required=False,
                            help_text=_("默认：今天（已结束的周期含宽限期内的延期完成）"))
    region = forms.CharField(label=_("区划代码"), required=False)
    provider = forms.CharField(label=_("医疗卫生机构编码"), required=False)
    centre = forms.CharField(label=_("托育机构"), required=False)
    format = forms.ChoiceField(label=_("格式"), required=False, choices=[(f, f) for f in FORMATS])

    def clean_period(self):
        code = self.cleaned_data["period"].strip() or periods.quarter_of(timezone.localdate())
        try:
            periods.period_bounds(code)
        except ValueError:
            raise ValidationError(_("周期应为 2027Q1 或 2027 这样的代码")) from None
        params.check_year(periods.parse_period(code)[0])
        return code

    def clean_as_of(self):
        return params.check_date(self.cleaned_data["as_of"])
