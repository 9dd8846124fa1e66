// Package expression compiles and evaluates the expressions found in
// BPMN models from Camunda: JUEL (Camunda 7) and FEEL (Camunda 8).
//
// Both dialects are translated into github.com/expr-lang/expr programs
// in which every operator and function is one of this package's own
// functions, so the dialect's rules decide every result. An expression
// cannot reach the host: there is no file, network or environment
// access, no reflection, no method call on Go values and no expr
// builtin. Anything outside the subset below is a compile error naming
// the expression and what is unsupported; it is never a different answer
// at run time.
//
// Compile a source once, keep the *Program and evaluate it many times;
// a Program is safe for concurrent use.
//
//	p, err := expression.Compile(`= amount > 1000 and region = "EU"`)
//	ok, err := p.EvalBool(expression.Map{"amount": 1500, "region": "EU"})
//
// # Dialects
//
// A source whose first non-blank character is "=" is FEEL. Otherwise a
// source containing "${" or "#{" is JUEL, and anything else is a
// literal, which evaluates to the text itself.
//
// # Values
//
// Variables and results are string, bool, int64, float64, time.Time,
// map[string]any (a context or JSON object), []any (a list) and nil. Go
// ints and the other integer and float types are accepted as input;
// results use int64 and float64. Values of other Go types can be passed
// through, but reading a property of one or calling a method on one is
// an evaluation error.
//
// # JUEL (Camunda 7)
//
// A source that is exactly one ${...} (or #{...}) yields the raw value.
// Text with expressions ("sales-${region}") yields a string: null is
// written as nothing, decimals as Java writes them (2.0, 1.0E10). \${
// writes a literal ${.
//
//   - Literals: 42, 1.5, 1e3, 'single' and "double" quoted strings (with
//     the escapes \\, \' and \"), true, false, null.
//   - Arithmetic: + - * / div % mod and unary -. / and div always give a
//     decimal (3/5 is 0.6); + - * % of integers give an integer. Numeric
//     strings count as numbers ("1" + 2 is 3) and null as 0. Dividing by
//     zero is an error. Integer overflow wraps, as Java longs do.
//   - Comparison: == != < > <= >= and eq ne lt gt le ge. Numbers compare
//     across integer and decimal. A number compared with a string
//     compares as numbers ("1000" == 1000 is true) and a string that is
//     not a number is an error. A boolean compared with a string is true
//     when the string is "true" in any case. Strings order
//     lexicographically, date-times by time. Lists and maps are equal
//     when their contents are. null == null is true; null compared with <
//     > <= >= is false, as in EL.
//   - Logic: && || ! and, or, not, short-circuiting. null and "" count as
//     false, the string "true" (any case) as true; other values are an
//     error.
//   - empty x is true for null, "", an empty list and an empty map.
//   - a ? b : c, parentheses.
//   - Properties: a.b and a['b'] on maps (null when missing), a[0] on
//     lists (null when out of range), and null.b is null.
//   - execution.getVariable('x') reads variable x and yields null when x
//     is not set. Its argument must be a string literal.
//   - Methods on strings: equals, equalsIgnoreCase, contains, startsWith,
//     endsWith, isEmpty, length, toUpperCase, toLowerCase, trim. On lists:
//     size, isEmpty, contains. On maps: size, isEmpty, containsKey. Any
//     other method, and any function call (fn(x), ns:fn(x)), does not
//     compile. Calling a method on a value of the wrong type is an
//     evaluation error.
//   - An unknown variable is an error wrapping ErrUnknownVariable, checked
//     before the expression runs, as Camunda raises an error for it.
//
// Not supported: EL 3.0 assignment, lambdas, collection literals and
// string concatenation with +=, instanceof, and functions.
//
// # FEEL (Camunda 8)
//
//   - Literals: numbers, "strings" (escapes \" \\ \n \r \t \uXXXX), true,
//     false, null, lists [1, 2] and contexts {a: 1, "b c": 2}. A context
//     entry cannot refer to another entry of the same context.
//   - Arithmetic: + - * / ** and unary -; + also joins strings. Decimal
//     results are rounded to 15 significant digits, so 0.1 + 0.2 = 0.3.
//     An exact integer division stays an integer (6 / 3 is 2); x / 0 is
//     null.
//   - Comparison: = (equality, not assignment) != < > <= >=, between a
//     and b, and in: x in [1..10], x in (1..10], x in ]1..10[, x in [1, 2,
//     3], x in ("a", "b"), x in < 10, x in list (membership), x in "a"
//     (equality).
//   - Logic: and, or (three-valued, short-circuiting), not(x).
//   - if c then a else b (a condition that is not true takes else), some
//     x in l satisfies c, every x in l satisfies c (several "x in l" may
//     be given, separated by commas).
//   - Paths a.b.c; a path on a list reads the entry of each element
//     (orders.amount); date-times have year, month, day, hour, minute,
//     second and weekday.
//   - Filters: list[1] (1-based, negative from the end, null out of
//     range) and list[item > 3] (a condition, with item and the entries
//     of item in scope: orders[amount > 10]).
//   - Functions: not, string length, substring(s, start[, length]) (1-based),
//     upper case, lower case, contains, starts with, ends with, matches,
//     replace, split (RE2 regular expressions, flags i, s and m), string
//     join, trim, string, number, is defined (of a variable or path),
//     count, sum, min, max, mean, list contains, append, concatenate,
//     distinct values, flatten, index of, reverse, sort (numbers or
//     strings), is empty, abs, floor, ceiling, decimal (half even), round
//     half up, modulo, get value, context put, get entries, and date and
//     time("2026-01-01T09:00:00Z") (also a local date-time, taken as UTC,
//     or a date), now() and today() (midnight UTC): the engine fixes
//     the time to that of the command, so a retry sees the same instant.
//   - A variable that is not set is null. Arithmetic, comparison and most
//     functions give null when an argument is null; x = null is true when
//     x is null or not set.
//   - Values of the wrong type (not null) are an evaluation error, where
//     FEEL would give null: "a" < 1, "a" + 1, upper case(1). Equality of
//     different types (1 = "1") is null.
//
// Not supported: random number() and uuid() (a condition must give the
// same answer every time), for, function definitions, instance of, temporal
// literals (@"..."), ranges outside in, named arguments, unknown
// functions, names with spaces, and method calls.
//
// # Conditions and errors
//
// EvalBool requires a boolean: any other result, including null, is an
// *EvalError naming the expression and the type it got, as Camunda
// raises an incident for it. Compile errors are *CompileError and
// evaluation errors *EvalError; both carry the source.
//
// The names env, and names starting with $ or __, are reserved and do
// not compile. A source is at most MaxSourceLen bytes with at most 64
// levels of nesting, and one evaluation runs at most MaxIterations steps
// of filters and quantifiers.
package expression
