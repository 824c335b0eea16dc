// Added to FerretDB's SQLite backend by the joblog platform's build (infra/ferretdb.py; see
// patches/0002-sqlite-id-pushdown.patch).

package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// maxInIDs bounds an `$in` pushed down (SQLite allows 32766 parameters).
const maxInIDs = 10000

// maxOrClauses bounds an `$or` pushed down (SQLite's expressions nest at most 1000 deep).
const maxOrClauses = 500

// filteredBy narrows a query by its filter's `_id` condition (idPushdown) or, without one,
// by an `$or` whose every clause has an `_id` condition pushed down: the clauses' conditions
// joined by OR, each over the `_id` index (the read of a batch of citizens' activities, one
// `_id` range each, in `shared/readmodel/`).
func filteredBy(filter *types.Document) (string, []any) {
	if v, _ := filter.Get("_id"); v != nil {
		return idPushdown(v)
	}

	or, _ := filter.Get("$or")
	clauses, ok := or.(*types.Array)
	if !ok || clauses.Len() == 0 || clauses.Len() > maxOrClauses {
		return "", nil
	}

	conditions := make([]string, 0, clauses.Len())
	var args []any
	for i := 0; i < clauses.Len(); i++ {
		clause, isDoc := must.NotFail(clauses.Get(i)).(*types.Document)
		if !isDoc {
			return "", nil
		}
		v, _ := clause.Get("_id")
		where, clauseArgs := idPushdown(v)
		if where == "" {
			return "", nil // a clause not narrowed by `_id`: it may match any document
		}
		conditions = append(conditions, "("+strings.TrimPrefix(where, ` WHERE `)+")")
		args = append(args, clauseArgs...)
	}

	return ` WHERE ` + strings.Join(conditions, ` OR `), args
}

// idPushdown narrows a query by its `_id` condition in SQL, over the `_id` index:
//   - equality with a string or ObjectID (as FerretDB does itself);
//   - `$in` of strings;
//   - a range of strings (`$gt`, `$gte`, `$lt`, `$lte`) whose bounds are plain (see plainBound).
//
// The handler applies the whole filter again to what the query returns, so the SQL condition
// only has to hold for every document the filter matches; other operators are left to it.
func idPushdown(v any) (string, []any) {
	switch v := v.(type) {
	case string, types.ObjectID:
		return fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn), []any{jsonText(v)}
	case *types.Document:
		return idOperators(v)
	}

	return "", nil
}

func idOperators(ops *types.Document) (string, []any) {
	var conditions []string
	var args []any

	if in, _ := ops.Get("$in"); in != nil {
		if ids, ok := in.(*types.Array); ok && ids.Len() > 0 && ids.Len() <= maxInIDs {
			values := make([]any, 0, ids.Len())
			for i := 0; i < ids.Len(); i++ {
				id := must.NotFail(ids.Get(i))
				if _, isString := id.(string); !isString {
					values = nil
					break
				}
				values = append(values, jsonText(id))
			}
			if values != nil {
				marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
				conditions = append(conditions, fmt.Sprintf(`%s IN (%s)`, metadata.IDColumn, marks))
				args = append(args, values...)
			}
		}
	}

	for op, sql := range map[string]string{"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="} {
		bound, _ := ops.Get(op)
		if s, ok := bound.(string); ok && plainBound(s) {
			conditions = append(conditions, fmt.Sprintf(`%s %s ?`, metadata.IDColumn, sql))
			args = append(args, jsonText(s))
		}
	}

	if len(conditions) == 0 {
		return "", nil
	}

	return ` WHERE ` + strings.Join(conditions, ` AND `), args
}

// plainBound: a range bound of ASCII letters, digits and `-.:;_|`. The index holds each `_id`
// as JSON text, and the text of a string orders like the string itself (bytewise, as MongoDB
// compares strings) as long as neither holds a character JSON escapes or one below `#`; the
// platform's range-read collections have such `_id`s ("101:0101801234").
func plainBound(s string) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("-.:;_|", r)
		if !ok {
			return false
		}
	}

	return true
}

func jsonText(v any) string {
	return string(must.NotFail(sjson.MarshalSingleValue(v)))
}
