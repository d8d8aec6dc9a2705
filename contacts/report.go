package contacts

import "sort"

func sortRowErrors(errs []RowError) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
}
