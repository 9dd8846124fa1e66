package expression

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var when = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// testVars are the variables every evaluation test and the fuzz target
// run against.
func testVars() Map {
	return Map{
		"amount":    int64(1500),
		"small":     3, // a Go int, as callers may pass
		"price":     2.5,
		"region":    "EU",
		"name":      "  Alice  ",
		"flag":      true,
		"nothing":   nil,
		"numstr":    "1000",
		"blank":     "",
		"list":      []any{int64(1), int64(5), int64(7)},
		"strs":      []any{"b", "a", "c"},
		"emptyList": []any{},
		"emptyMap":  map[string]any{},
		"when":      when,
		"order": map[string]any{
			"id":       "o-1",
			"total":    99.5,
			"customer": map[string]any{"name": "Bob"},
			"items": []any{
				map[string]any{"sku": "a", "qty": int64(2)},
				map[string]any{"sku": "b", "qty": int64(5)},
			},
		},
		"obj": struct{ Secret string }{"s3cr3t"},
	}
}

// evalCase is one expression with its expected value or error.
type evalCase struct {
	src  string
	want any
	err  string // substring of the EvalError, when an error is expected
}

// juelCases cover every JUEL operator, method and coercion.
var juelCases = []evalCase{
	// literals
	{src: "${42}", want: int64(42)},
	{src: "${1.5}", want: 1.5},
	{src: "${1e3}", want: 1000.0},
	{src: "${.5}", want: 0.5},
	{src: "${'single'}", want: "single"},
	{src: `${"double"}`, want: "double"},
	{src: `${'it\'s'}`, want: "it's"},
	{src: `${"say \"hi\" \\o/"}`, want: `say "hi" \o/`},
	{src: "${true}", want: true},
	{src: "${false}", want: false},
	{src: "${null}", want: nil},
	// arithmetic
	{src: "${1 + 2}", want: int64(3)},
	{src: "${5-2}", want: int64(3)},
	{src: "${2 * 3}", want: int64(6)},
	{src: "${3/5}", want: 0.6},
	{src: "${6/3}", want: 2.0},
	{src: "${7 div 2}", want: 3.5},
	{src: "${7 % 3}", want: int64(1)},
	{src: "${7 mod 3}", want: int64(1)},
	{src: "${7.5 % 2}", want: 1.5},
	{src: "${-amount}", want: int64(-1500)},
	{src: "${- -3}", want: int64(3)},
	{src: "${1 + 2.5}", want: 3.5},
	{src: "${small * 2}", want: int64(6)},
	{src: "${price * 2}", want: 5.0},
	{src: "${'1' + 2}", want: int64(3)},
	{src: "${numstr / 4}", want: 250.0},
	{src: "${nothing + 1}", want: int64(1)},
	{src: "${(1 + 2) * 3}", want: int64(9)},
	{src: "${1 + 2 * 3}", want: int64(7)},
	{src: "${10 - 2 - 3}", want: int64(5)},
	{src: "${1/0}", err: "division by zero"},
	{src: "${1 % 0}", err: "division by zero"},
	{src: "${'abc' + 1}", err: `cannot coerce string "abc" to a number`},
	{src: "${flag + 1}", err: "cannot coerce boolean to a number"},
	// comparison
	{src: "${amount > 1000}", want: true},
	{src: "${amount gt 1000}", want: true},
	{src: "${amount < 1000}", want: false},
	{src: "${amount lt 1000}", want: false},
	{src: "${amount <= 1500}", want: true},
	{src: "${amount le 1499}", want: false},
	{src: "${amount >= 1500}", want: true},
	{src: "${amount ge 1501}", want: false},
	{src: "${amount == 1500}", want: true},
	{src: "${amount eq 1500}", want: true},
	{src: "${amount != 1500}", want: false},
	{src: "${amount ne 1}", want: true},
	{src: "${small == 3}", want: true},
	{src: "${price == 2.5}", want: true},
	{src: "${amount == 1500.0}", want: true},
	{src: "${price > small}", want: false},
	{src: "${amount == '1500'}", want: true},
	{src: "${numstr == 1000}", want: true},
	{src: "${numstr > 999}", want: true},
	{src: "${amount == 'abc'}", err: `cannot coerce string "abc" to a number`},
	{src: "${region == 'EU'}", want: true},
	{src: `${region == "EU"}`, want: true},
	{src: "${region != 'US'}", want: true},
	{src: "${'abc' < 'abd'}", want: true},
	{src: "${'b' > 'abc'}", want: true},
	{src: "${flag == 'true'}", want: true},
	{src: "${flag == true}", want: true},
	{src: "${nothing == null}", want: true},
	{src: "${null == null}", want: true},
	{src: "${amount == null}", want: false},
	{src: "${nothing > 1}", want: false},
	{src: "${list == list}", want: true},
	{src: "${region == list}", want: false},
	{src: "${when == when}", want: true},
	{src: "${flag > 1}", err: "cannot coerce boolean to a number"},
	{src: "${list < 1}", err: "cannot coerce list to a number"},
	{src: "${region < list}", err: "cannot compare string with list"},
	// logic
	{src: "${true && false}", want: false},
	{src: "${true and true}", want: true},
	{src: "${false || true}", want: true},
	{src: "${false or false}", want: false},
	{src: "${!flag}", want: false},
	{src: "${not flag}", want: false},
	{src: "${!nothing}", want: true},
	{src: "${'TRUE' && true}", want: true},
	{src: "${false && 1 / 0 > 1}", want: false},
	{src: "${true || 1 / 0 > 1}", want: true},
	{src: "${amount && true}", err: "cannot coerce number to a boolean"},
	{src: "${amount > 1000 && region == 'EU' || flag}", want: true},
	// empty
	{src: "${empty nothing}", want: true},
	{src: "${empty blank}", want: true},
	{src: "${empty emptyList}", want: true},
	{src: "${empty emptyMap}", want: true},
	{src: "${empty list}", want: false},
	{src: "${empty region}", want: false},
	{src: "${not empty region}", want: true},
	{src: "${empty amount}", want: false},
	// ternary
	{src: "${amount > 1000 ? 'big' : 'small'}", want: "big"},
	{src: "${small > 1000 ? 'big' : small > 1 ? 'medium' : 'small'}", want: "medium"},
	{src: "${nothing ? 1 : 2}", want: int64(2)},
	// properties and indexes
	{src: "${order.id}", want: "o-1"},
	{src: "${order['id']}", want: "o-1"},
	{src: `${order["customer"].name}`, want: "Bob"},
	{src: "${order.customer.name}", want: "Bob"},
	{src: "${order.missing}", want: nil},
	{src: "${order.missing.deeper}", want: nil},
	{src: "${order.items[1].sku}", want: "b"},
	{src: "${order.items[1]['qty'] * 2}", want: int64(10)},
	{src: "${list[0]}", want: int64(1)},
	{src: "${list['2']}", want: int64(7)},
	{src: "${list[5]}", want: nil},
	{src: "${list[-1]}", want: nil},
	{src: "${nothing.x}", want: nil},
	{src: "${list['x']}", err: "list index x is not an integer"},
	{src: "${region.x}", err: "cannot read property x of string"},
	{src: "${amount.x}", err: "cannot read property x of number"},
	// execution.getVariable
	{src: "${execution.getVariable('amount')}", want: int64(1500)},
	{src: "${execution.getVariable('x')}", want: nil},
	{src: `${execution.getVariable("x") == null}`, want: true},
	{src: "${execution.getVariable('region').toLowerCase()}", want: "eu"},
	// methods
	{src: "${region.equals('EU')}", want: true},
	{src: "${region.equals('eu')}", want: false},
	{src: "${amount.equals(1500)}", want: true},
	{src: "${amount.equals(1500.0)}", want: false},
	{src: "${region.equalsIgnoreCase('eu')}", want: true},
	{src: "${region.equalsIgnoreCase(nothing)}", want: false},
	{src: "${region.contains('E')}", want: true},
	{src: "${region.startsWith('E')}", want: true},
	{src: "${region.endsWith('E')}", want: false},
	{src: "${region.isEmpty()}", want: false},
	{src: "${blank.isEmpty()}", want: true},
	{src: "${region.length()}", want: int64(2)},
	{src: "${'😀'.length()}", want: int64(2)},
	{src: "${region.toUpperCase()}", want: "EU"},
	{src: "${region.toLowerCase()}", want: "eu"},
	{src: "${name.trim()}", want: "Alice"},
	{src: "${name.trim().length() > 3}", want: true},
	{src: "${list.size()}", want: int64(3)},
	{src: "${list.isEmpty()}", want: false},
	{src: "${emptyList.isEmpty()}", want: true},
	{src: "${list.contains(5)}", want: true},
	{src: "${list.contains(6)}", want: false},
	{src: "${order.size()}", want: int64(4)},
	{src: "${order.containsKey('id')}", want: true},
	{src: "${order.containsKey('nope')}", want: false},
	{src: "${emptyMap.isEmpty()}", want: true},
	{src: "${amount.length()}", err: "length() needs a string, got number"},
	{src: "${region.size()}", err: "size() needs a list or map, got string"},
	{src: "${region.contains(1)}", err: "contains() needs a string argument, got number"},
	{src: "${list.containsKey('a')}", err: "containsKey() needs a map, got list"},
	{src: "${nothing.trim()}", err: "trim() needs a string, got null"},
	{src: "${nothing.equals(1)}", err: "equals() on null"},
	// templates
	{src: "sales-${region}", want: "sales-EU"},
	{src: "${amount}/${price}", want: "1500/2.5"},
	{src: "a${nothing}b", want: "ab"},
	{src: "${6/3}", want: 2.0},
	{src: "x${6/3}", want: "x2.0"},
	{src: "x${1e10 * 1.0}", want: "x1.0E10"},
	{src: "${list} ${order.customer}", want: "[1, 5, 7] {name=Bob}"},
	{src: "#{amount}", want: int64(1500)},
	{src: "#{amount} and ${region}", want: "1500 and EU"},
	{src: `cost \${not} ${amount}`, want: "cost ${not} 1500"},
	{src: `\${literal}`, want: "${literal}"},
	{src: "${'}'}", want: "}"},
	{src: "at ${when}", want: "at 2026-01-01T09:00:00Z"},
	// unsupported values passed by a caller stay inside the sandbox
	{src: "${obj.Secret}", err: "cannot read property Secret of unsupported type struct"},
	{src: "${when.Format}", err: "cannot read property Format of date-time"},
}

// feelCases cover every FEEL operator and function.
var feelCases = []evalCase{
	{src: `= {"amount": amount, "b": 2}`, want: map[string]any{"amount": int64(1500), "b": int64(2)}},
	// literals
	{src: "= 42", want: int64(42)},
	{src: "=1.5", want: 1.5},
	{src: "  = .5", want: 0.5},
	{src: `= "a\"b\\c\n\u00e9"`, want: "a\"b\\c\né"},
	{src: `= "\ud83d\ude00"`, want: "😀"},
	{src: "= true", want: true},
	{src: "= false", want: false},
	{src: "= null", want: nil},
	{src: "= [1, 2]", want: []any{int64(1), int64(2)}},
	{src: "= []", want: []any{}},
	{src: `= {a: 1, "b c": [true]}`, want: map[string]any{"a": int64(1), "b c": []any{true}}},
	{src: "= {a: {b: 1}}.a.b", want: int64(1)},
	{src: "= 123456789012345678901234567890", want: 1.2345678901234568e29},
	// arithmetic
	{src: "= 1 + 2", want: int64(3)},
	{src: "= 1.5 + 1", want: 2.5},
	{src: "= 10 - 4", want: int64(6)},
	{src: "= 2 * 3", want: int64(6)},
	{src: "= 7 / 2", want: 3.5},
	{src: "= 6 / 3", want: int64(2)},
	{src: "= 1 / 3", want: 0.333333333333333},
	{src: "= 2 ** 10", want: int64(1024)},
	{src: "= 2 ** -1", want: 0.5},
	{src: "= -2 ** 2", want: int64(-4)},
	{src: "= 2 ** 3 ** 2", want: int64(512)},
	{src: "= -amount", want: int64(-1500)},
	{src: "= 1 + 2 * 3", want: int64(7)},
	{src: "= (1 + 2) * 3", want: int64(9)},
	{src: "= 0.1 + 0.2", want: 0.3},
	{src: "= 9223372036854775807 + 1", want: 9.22337203685478e18},
	{src: "= 1 / 0", want: nil},
	{src: "= small * price", want: 7.5},
	{src: `= "a" + "b"`, want: "ab"},
	{src: `= region + "-" + string(amount)`, want: "EU-1500"},
	{src: `= "a" + 1`, err: "cannot apply + to string and number"},
	{src: `= "a" * 2`, err: "cannot apply * to string and number"},
	{src: "= -region", err: "cannot negate string"},
	// null
	{src: "= null + 1", want: nil},
	{src: "= x + 1", want: nil},
	{src: "= x > 1", want: nil},
	{src: "= -x", want: nil},
	{src: "= x = null", want: true},
	{src: "= nothing = null", want: true},
	{src: "= amount = null", want: false},
	{src: "= amount != null", want: true},
	{src: "= x.y.z", want: nil},
	// comparison
	{src: "= amount > 1000", want: true},
	{src: "= amount < 2000", want: true},
	{src: "= amount <= 1500", want: true},
	{src: "= amount >= 1501", want: false},
	{src: "= amount = 1500", want: true},
	{src: "= amount != 1500", want: false},
	{src: "= 1 = 1.0", want: true},
	{src: "= small = 3", want: true},
	{src: `= "1" = 1`, want: nil},
	{src: `= "abc" < "abd"`, want: true},
	{src: "= 0.1 + 0.2 = 0.3", want: true},
	{src: "= [1, 2] = [1, 2]", want: true},
	{src: "= {a: 1} = {a: 1.0}", want: true},
	{src: "= {a: 1} != {a: 2}", want: true},
	{src: "= flag = true", want: true},
	{src: `= when = date and time("2026-01-01T10:00:00+01:00")`, want: true},
	{src: `= when < date and time("2026-01-02T00:00:00Z")`, want: true},
	{src: `= "a" < 1`, err: "cannot compare string with number"},
	{src: "= flag < true", err: "cannot compare boolean with boolean"},
	// logic
	{src: `= amount > 1000 and region = "EU"`, want: true},
	{src: "= true and false", want: false},
	{src: "= true or false", want: true},
	{src: "= false or false", want: false},
	{src: "= null and false", want: false},
	{src: "= null and true", want: nil},
	{src: "= null or true", want: true},
	{src: "= null or false", want: nil},
	{src: "= false and 1 / 0 > 1", want: false},
	{src: `= false and "a" < 1`, want: false},
	{src: `= true or "a" < 1`, want: true},
	{src: "= amount and true", want: nil},
	{src: "= not(true)", want: false},
	{src: "= not(flag) or amount > 1", want: true},
	{src: "= not(1)", want: nil},
	{src: "= not(x)", want: nil},
	// between and in
	{src: "= amount between 1000 and 2000", want: true},
	{src: "= 5 between 1 and 3", want: false},
	{src: "= x between 1 and 3", want: nil},
	{src: "= amount in [1000..2000]", want: true},
	{src: "= 1000 in (1000..2000]", want: false},
	{src: "= 1000 in ]1000..2000]", want: false},
	{src: "= 2000 in [1000..2000)", want: false},
	{src: "= 2000 in [1000..2000[", want: false},
	{src: "= 1999.5 in [1000..2000)", want: true},
	{src: `= "b" in ["a".."c"]`, want: true},
	{src: "= x in [1..10]", want: nil},
	{src: "= 5 in [1, 5, 7]", want: true},
	{src: "= 4 in list", want: false},
	{src: "= 5 in list", want: true},
	{src: `= region in "EU"`, want: true},
	{src: `= region in ("EU", "US")`, want: true},
	{src: `= region in ("US")`, want: false},
	{src: "= amount in > 1000", want: true},
	{src: "= amount in <= 1000", want: false},
	{src: "= null in [1, null]", want: true},
	{src: "= amount + 1 in [1501, 1502] and true", want: true},
	// if
	{src: `= if amount > 1000 then "big" else "small"`, want: "big"},
	{src: "= if x then 1 else 2", want: int64(2)},
	{src: "= 1 + if flag then 1 else 2", want: int64(2)},
	// paths and filters
	{src: "= order.customer.name", want: "Bob"},
	{src: "= order.items.sku", want: []any{"a", "b"}},
	{src: "= order.missing", want: nil},
	{src: "= when.year", want: int64(2026)},
	{src: "= when.month + when.day + when.hour + when.minute + when.second", want: int64(11)},
	{src: "= when.weekday", want: int64(4)},
	{src: "= region.length", err: "cannot read length of string"},
	{src: "= list[1]", want: int64(1)},
	{src: "= list[-1]", want: int64(7)},
	{src: "= list[0]", want: nil},
	{src: "= list[4]", want: nil},
	{src: "= list[small]", want: int64(7)},
	{src: "= list[1 + 1]", want: int64(5)},
	{src: "= [1, 2, 3][-2]", want: int64(2)},
	{src: "= list[item > 3]", want: []any{int64(5), int64(7)}},
	{src: "= list[item > 3][1]", want: int64(5)},
	{src: "= list[item > 100]", want: []any{}},
	{src: "= list[true]", want: []any{int64(1), int64(5), int64(7)}},
	{src: "= order.items[qty > 3].sku", want: []any{"b"}},
	{src: `= order.items[item.sku = "a"][1].qty`, want: int64(2)},
	{src: "= order.items[qty > small].sku", want: []any{"b"}},
	{src: "= count(order.items[qty > 1])", want: int64(2)},
	{src: "= x[1]", want: nil},
	{src: "= x[item > 1]", want: nil},
	{src: "= 5[1]", want: int64(5)},
	{src: `= list["a"]`, err: "list index must be an integer, got string"},
	{src: "= list[1.5]", err: "list index must be an integer, got number"},
	// quantifiers
	{src: "= some x in list satisfies x > 6", want: true},
	{src: "= some x in list satisfies x > 7", want: false},
	{src: "= every x in list satisfies x > 0", want: true},
	{src: "= every x in list satisfies x > 1", want: false},
	{src: "= some x in [1, 2], y in [2, 3] satisfies x = y", want: true},
	{src: "= every x in [1, 2], y in [3, 4] satisfies x < y", want: true},
	{src: "= some i in order.items satisfies i.qty > 4", want: true},
	{src: "= some x in list satisfies list[item = x] = [x]", want: true},
	{src: "= some x in missing satisfies x > 1", want: nil},
	// string functions
	{src: `= string length("héllo")`, want: int64(5)},
	{src: `= substring("foobar", 3)`, want: "obar"},
	{src: `= substring("foobar", 3, 3)`, want: "oba"},
	{src: `= substring("foobar", -2, 1)`, want: "a"},
	{src: `= substring("foobar", 10)`, want: ""},
	{src: `= upper case("aé")`, want: "AÉ"},
	{src: `= lower case("A")`, want: "a"},
	{src: `= contains("foobar", "oba")`, want: true},
	{src: `= starts with("foobar", "foo")`, want: true},
	{src: `= ends with("foobar", "foo")`, want: false},
	{src: `= matches("foobar", "^fo*b")`, want: true},
	{src: `= matches("FOO", "foo", "i")`, want: true},
	{src: `= matches("FOO", "foo")`, want: false},
	{src: `= replace("abc", "b", "x")`, want: "axc"},
	{src: `= replace("abcb", "(b)", "[$1]")`, want: "a[b]c[b]"},
	{src: `= replace("a1", "(\\d)", "$1x")`, want: "a1x"},
	{src: `= replace("ABC", "b", "-", "i")`, want: "A-C"},
	{src: `= split("a,b,,c", ",")`, want: []any{"a", "b", "", "c"}},
	{src: `= split("a1b22c", "\\d+")`, want: []any{"a", "b", "c"}},
	{src: `= string join(["a", "b"], "-")`, want: "a-b"},
	{src: `= string join(["a", null, "b"])`, want: "ab"},
	{src: `= trim("  x ")`, want: "x"},
	{src: "= string(1.5)", want: "1.5"},
	{src: "= string(amount)", want: "1500"},
	{src: "= string(true)", want: "true"},
	{src: `= string([1, "a"])`, want: `[1, "a"]`},
	{src: "= string(x)", want: nil},
	{src: `= number("12")`, want: int64(12)},
	{src: `= number("1.5")`, want: 1.5},
	{src: `= number("x")`, want: nil},
	{src: "= number(numstr) > 999", want: true},
	{src: "= upper case(1)", err: "upper case(): expected a string, got number"},
	{src: "= upper case(x)", want: nil},
	{src: `= matches("a", region, "z")`, err: `unsupported regular expression flag 'z'`},
	{src: `= matches("a", order.id + "(")`, err: "invalid regular expression"},
	// is defined
	{src: "= is defined(amount)", want: true},
	{src: "= is defined(x)", want: false},
	{src: "= is defined(nothing)", want: true},
	{src: "= is defined(order.id)", want: true},
	{src: "= is defined(order.nope)", want: false},
	{src: "= is defined(order.customer.name)", want: true},
	{src: "= is defined(x) and x > 1", want: false},
	// list functions
	{src: "= count(list)", want: int64(3)},
	{src: "= count(5)", err: "count(): expected a list, got number"},
	{src: "= sum(list)", want: int64(13)},
	{src: "= sum(1, 2.5)", want: 3.5},
	{src: "= sum([])", want: nil},
	{src: `= sum(["a"])`, err: "sum(): expected a list of numbers, got string"},
	{src: "= min(list)", want: int64(1)},
	{src: "= max(list)", want: int64(7)},
	{src: "= max(3, 9, 4)", want: int64(9)},
	{src: "= min(strs)", want: "a"},
	{src: "= max([])", want: nil},
	{src: `= max([1, "a"])`, err: "max(): cannot compare string with number"},
	{src: "= mean(list)", want: 4.33333333333333},
	{src: "= mean([2, 4])", want: int64(3)},
	{src: "= list contains(list, 5)", want: true},
	{src: "= list contains(list, 6)", want: false},
	{src: "= append(list, 9)", want: []any{int64(1), int64(5), int64(7), int64(9)}},
	{src: "= append([], 1, 2)", want: []any{int64(1), int64(2)}},
	{src: "= concatenate([1], [2, 3])", want: []any{int64(1), int64(2), int64(3)}},
	{src: "= distinct values([1, 1.0, 2, 1])", want: []any{int64(1), int64(2)}},
	{src: "= flatten([[1, [2]], 3])", want: []any{int64(1), int64(2), int64(3)}},
	{src: "= index of([1, 2, 1], 1)", want: []any{int64(1), int64(3)}},
	{src: "= reverse([1, 2])", want: []any{int64(2), int64(1)}},
	{src: "= sort([3, 1.5, 2])", want: []any{1.5, int64(2), int64(3)}},
	{src: "= sort(strs)", want: []any{"a", "b", "c"}},
	{src: `= sort([1, "a"])`, err: "sort(): expected a list of numbers or of strings, got string"},
	{src: "= is empty([])", want: true},
	// number functions
	{src: "= abs(-3)", want: int64(3)},
	{src: "= abs(-1.5)", want: 1.5},
	{src: "= floor(1.5)", want: int64(1)},
	{src: "= floor(-1.5)", want: int64(-2)},
	{src: "= ceiling(1.2)", want: int64(2)},
	{src: "= ceiling(5)", want: int64(5)},
	{src: "= decimal(1.115, 2)", want: 1.12},
	{src: "= decimal(1.125, 2)", want: 1.12},
	{src: "= decimal(5.5, 0)", want: int64(6)},
	{src: "= decimal(4.5, 0)", want: int64(4)},
	{src: "= decimal(1/3, 2)", want: 0.33},
	{src: "= round half up(1.125, 2)", want: 1.13},
	{src: "= round half up(2.675, 2)", want: 2.68},
	{src: "= round half up(-1.125, 2)", want: -1.13},
	{src: "= round half up(9.995, 2)", want: 10.0},
	{src: "= round half up(7, 2)", want: int64(7)},
	{src: "= decimal(1.5, -1)", err: "decimal(): expected a scale from 0 to 15, got -1"},
	{src: "= modulo(12, 5)", want: int64(2)},
	{src: "= modulo(-12, 5)", want: int64(3)},
	{src: "= modulo(12, -5)", want: int64(-3)},
	{src: "= modulo(10.5, 3)", want: 1.5},
	{src: "= modulo(1, 0)", want: nil},
	{src: `= abs("a")`, err: "abs(): expected a number, got string"},
	// context functions
	{src: `= get value({a: 1}, "a")`, want: int64(1)},
	{src: `= get value(order, "nope")`, want: nil},
	{src: `= context put({a: 1}, "b", 2)`, want: map[string]any{"a": int64(1), "b": int64(2)}},
	{src: "= get entries({b: 2, a: 1})", want: []any{map[string]any{"key": "a", "value": int64(1)}, map[string]any{"key": "b", "value": int64(2)}}},
	// date and time
	{src: `= date and time("2026-01-01T09:00:00Z")`, want: when},
	{src: `= date and time("2026-01-01T09:00:00")`, want: when},
	{src: `= date and time("2026-01-01")`, want: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	{src: `= date and time(region)`, err: `invalid date and time "EU"`},
	// variables of the caller's types stay inside the sandbox
	{src: "= obj.Secret", err: "cannot read Secret of unsupported type struct"},
	{src: "= when.Location", err: "cannot read Location of date-time"},
}

func TestEval(t *testing.T) {
	t.Parallel()
	for _, group := range []struct {
		name    string
		dialect Dialect
		cases   []evalCase
	}{{"JUEL", JUEL, juelCases}, {"FEEL", FEEL, feelCases}} {
		for _, tc := range group.cases {
			t.Run(group.name+"/"+tc.src, func(t *testing.T) {
				t.Parallel()
				p, err := Compile(tc.src)
				if err != nil {
					t.Fatal(err)
				}
				if p.Dialect() != group.dialect {
					t.Fatalf("dialect %v, want %v", p.Dialect(), group.dialect)
				}
				got, err := p.Eval(testVars())
				if tc.err != "" {
					var ee *EvalError
					if !errors.As(err, &ee) || ee.Expr != tc.src {
						t.Fatalf("got %#v, %v; want an *EvalError for %q", got, err, tc.src)
					}
					if !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %q, want it to contain %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("generated %s: %v", p.generated, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %#v (%T), want %#v (%T); generated %s", got, got, tc.want, tc.want, p.generated)
				}
			})
		}
	}
}

func TestLiteral(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "plain text", "price $5 {x}", "a = b", "#notanexpr", "$ {x}"} {
		p, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if p.Dialect() != Literal || IsExpression(src) {
			t.Fatalf("%q: dialect %v, want literal", src, p.Dialect())
		}
		got, err := p.Eval(nil)
		if err != nil || got != src {
			t.Fatalf("%q: got %#v, %v", src, got, err)
		}
		if len(p.Variables()) != 0 {
			t.Fatalf("%q: variables %v", src, p.Variables())
		}
	}
}

func TestDialect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src  string
		want Dialect
	}{
		{"${a}", JUEL},
		{"#{a}", JUEL},
		{"x-${a}", JUEL},
		{"=a", FEEL},
		{" \n\t= a", FEEL},
		{"= ${a}", FEEL},
		{"a", Literal},
		{"a=b", Literal},
	} {
		if got := detect(tc.src); got != tc.want {
			t.Errorf("detect(%q) = %v, want %v", tc.src, got, tc.want)
		}
		if got := IsExpression(tc.src); got != (tc.want != Literal) {
			t.Errorf("IsExpression(%q) = %v", tc.src, got)
		}
	}
	if JUEL.String() != "JUEL" || FEEL.String() != "FEEL" || Literal.String() != "literal" {
		t.Error("Dialect.String")
	}
}

// compileErrorCases must not compile; msg is a substring of the error.
var compileErrorCases = []struct{ src, msg string }{
	// JUEL syntax
	{"${", "unexpected end of expression"},
	{"${amount", `expected "}"`},
	{"${}", "empty expression"},
	{"${a +}", "unexpected"},
	{"${(a}", `expected ")"`},
	{"${a b}", `expected "}"`},
	{"${'open}", "unterminated string"},
	{`${'\n'}`, `invalid escape \n`},
	{"${99999999999999999999}", "out of range"},
	{"${1e}", "invalid number"},
	{"${a = 1}", "unsupported operator \"=\""},
	{"${x -> x + 1}", "unsupported operator \"->\""},
	{"${a; b}", "unsupported operator \";\""},
	{"${a += 'b'}", "unsupported operator \"+=\""},
	{"${{1, 2}}", "unsupported operator \"{\""},
	{"${a instanceof b}", "instanceof is not supported"},
	{"${a ? b}", `expected ":"`},
	{"${a.}", "expected a property name"},
	{"${a.empty}", "expected a property name"},
	{"${a[1}", `expected "]"`},
	{"${a @ b}", "unexpected character '@'"},
	{"${list.size(1)}", "size() takes 0 arguments, got 1"},
	{"${region.equals()}", "equals() takes 1 arguments, got 0"},
	{"${x.getClass()}", "method getClass() is not supported"},
	{"${x.hashCode()}", "method hashCode() is not supported"},
	{"${execution.getVariable(name)}", "execution.getVariable needs one string literal argument"},
	{"${execution.getVariable('a', 'b')}", "execution.getVariable needs one string literal argument"},
	{"${execution.setVariable('a', 1)}", "method setVariable() is not supported"},
	{"${execution.getProcessEngineServices()}", "method getProcessEngineServices() is not supported"},
	{"${fn:upper(x)}", `expected "}"`},
	{"${upper(x)}", "function upper() is not supported"},
	{"${a.b()()}", "method b() is not supported"},
	{"${list[0]()}", "calling a value is not supported"},
	// FEEL syntax
	{"=", "empty expression"},
	{"= 1 +", "unexpected end of expression"},
	{"= (1", `expected ")"`},
	{`= "open`, "unterminated string"},
	{`= "\q"`, `invalid escape \q`},
	{`= "\u12"`, `invalid \u escape`},
	{"= /* open", "unterminated comment"},
	{"= foo(1)", `unknown function "foo"`},
	{"= foo bar(1)", `unknown function "foo bar"`},
	{"= string lenght(x)", `unknown function "string lenght"`},
	{"= order total > 3", "names with spaces are not supported"},
	{"= string length", "names with spaces are not supported"},
	{`= @"2026-01-01"`, "temporal literals"},
	{"= [1..3]", "ranges are only supported after in"},
	{"= x in ]1, 2]", `expected ".."`},
	{"= x in [1..2", `expected "]", ")" or "["`},
	{"= 1 < 2 < 3", "chained comparison is not supported"},
	{"= x instance of number", "instance of is not supported"},
	{"= for x in list return x", "for expressions are not supported"},
	{"= function(x) x", "function definitions are not supported"},
	{`= substring(string: "a", start position: 1)`, "named arguments are not supported"},
	{`= upper case("a", "b")`, "upper case() takes 1 arguments, got 2"},
	{`= substring("a")`, "substring() takes 2 to 3 arguments, got 1"},
	{"= sum()", "sum() takes at least 1 arguments, got 0"},
	{`= matches("a", "(")`, "invalid regular expression"},
	{`= split("a", "[")`, "invalid regular expression"},
	{`= matches("a", "a", "x")`, "unsupported regular expression flag"},
	{`= date and time("tomorrow")`, `invalid date and time "tomorrow"`},
	{"= {a: 1, b: a}", `context entry "a" refers to another entry`},
	{"= {a: 1, a: 2}", `duplicate key "a"`},
	{"= {a b: 1}", "keys with spaces must be quoted"},
	{"= if x then 1", `expected "else"`},
	{"= some x in l", `expected "satisfies"`},
	{"= is defined(1)", "is defined() takes a variable or a path"},
	{"= list[item > 1](1)", "calling a value is not supported"},
	{"= list[1", `expected "]"`},
	{"= " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), "levels of nesting"},
	{"${" + strings.Repeat("-", 100) + "1}", "levels of nesting"},
	{"= " + strings.Repeat("a and ", 2000) + "b", "expression too large"},
	// non-deterministic functions
	{"= random number()", "random number() is not supported"},
	{"= now(1)", "expected"},
	// input limits
	{"= \xff", "not valid UTF-8"},
	{"= " + strings.Repeat("1+", MaxSourceLen), "expected at most"},
}

// hostCases try to reach the host, expr's builtins or Go methods; none
// may compile.
var hostCases = []struct{ src, msg string }{
	{"${T(java.lang.Runtime).getRuntime().exec('ls')}", "function T() is not supported"},
	{"${''.getClass().forName('java.lang.Runtime')}", "method getClass() is not supported"},
	{"${when.Format('2006')}", "method Format() is not supported"},
	{"${when.Unix()}", "method Unix() is not supported"},
	{"${order.String()}", "method String() is not supported"},
	{"${env}", `name "env" is reserved`},
	{"${env.PATH}", `name "env" is reserved`},
	{"${$env}", `name "$env" is reserved`},
	{"${$env['PATH']}", `name "$env" is reserved`},
	{"${a$b}", `name "a$b" is reserved`},
	{"${__proto__}", `name "__proto__" is reserved`},
	{"${order.__proto__}", `property "__proto__" is reserved`},
	{"${execution.getVariable('$env')}", `name "$env" is reserved`},
	{"${len(list)}", "function len() is not supported"},
	{"${toJSON(order)}", "function toJSON() is not supported"},
	{"${filter(list, # > 1)}", "function filter() is not supported"},
	{"${now()}", "function now() is not supported"},
	{"${#}", "unexpected character '#'"},
	{"= env", `name "env" is reserved`},
	{"= $env", "unexpected character '$'"},
	{"= __proto__", `name "__proto__" is reserved`},
	{"= order.__proto__", `name "__proto__" is reserved`},
	{"= is defined(env)", `name "env" is reserved`},
	{"= when.Format(\"2006\")", "method calls (.Format()) are not supported"},
	{"= order.String()", "method calls (.String()) are not supported"},
	{"= len(list)", `unknown function "len"`},
	{"= toJSON(order)", `unknown function "toJSON"`},
	{"= filter(list, true)", `unknown function "filter"`},
	{"= map(list, #)", "unexpected character '#'"},
	{"= map(list, 1)", `unknown function "map"`},
	{"= fromJSON(\"{}\")", `unknown function "fromJSON"`},
	{"= feel_add(1, 2)", `unknown function "feel_add"`},
	{"= juel_concat(1)", `unknown function "juel_concat"`},
	{"= #", "unexpected character '#'"},
	{"= list | filter", "unexpected character '|'"},
	{"= v0", ""}, // compiles, but v0 is a process variable, not the env key v0
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range append(compileErrorCases, hostCases...) {
		if tc.msg == "" {
			continue
		}
		t.Run(tc.src[:min(len(tc.src), 40)], func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tc.src)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, %v; want a *CompileError", p, err)
			}
			if ce.Expr != tc.src || !strings.Contains(ce.Msg, tc.msg) {
				t.Fatalf("error %q, want it to name the expression and contain %q", err, tc.msg)
			}
			if strings.Contains(ce.Msg, "internal") {
				t.Fatalf("internal error %q", err)
			}
		})
	}
}

// TestGeneratedNames checks that a process variable cannot alias the
// generated environment keys or let variables.
func TestGeneratedNames(t *testing.T) {
	t.Parallel()
	vars := Map{"v0": "a", "v1": "b", "t1": "c", "i1": "d", "d0": "e"}
	for _, tc := range []struct {
		src  string
		want any
	}{
		{"${v1}${v0}${t1}${i1}${d0}", "bacde"},
		{"= v1 + v0 + t1 + i1 + d0", "bacde"},
		{`= v0 = "a" and t1 = "c"`, true},
		{`= [1, 2][item = 2]`, []any{int64(2)}},
	} {
		got, err := MustCompile(tc.src).Eval(vars)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.src, got, err, tc.want)
		}
	}
}

func TestUnknownVariable(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"${unknown > 1}", "${amount > 1 && unknown}", "a-${unknown}", "${unknown.x}", "${execution.getVariable('x') == unknown}"} {
		p := MustCompile(src)
		_, err := p.Eval(testVars())
		if !errors.Is(err, ErrUnknownVariable) {
			t.Fatalf("%s: got %v, want ErrUnknownVariable", src, err)
		}
		var ee *EvalError
		if !errors.As(err, &ee) || ee.Expr != src || !strings.Contains(err.Error(), `"unknown"`) {
			t.Fatalf("%s: error %v does not name the expression and the variable", src, err)
		}
		if _, err := p.EvalBool(testVars()); !errors.Is(err, ErrUnknownVariable) {
			t.Fatalf("%s: EvalBool got %v", src, err)
		}
	}
	// A nil Lookup has no variables.
	if _, err := MustCompile("${a}").Eval(nil); !errors.Is(err, ErrUnknownVariable) {
		t.Fatalf("nil lookup: %v", err)
	}
	if v, err := MustCompile("= a").Eval(nil); err != nil || v != nil {
		t.Fatalf("FEEL nil lookup: %v, %v", v, err)
	}
}

func TestEvalBool(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src  string
		want bool
		err  string
	}{
		{src: "${amount > 1000}", want: true},
		{src: "${region == 'US'}", want: false},
		{src: `= amount > 1000 and region = "EU"`, want: true},
		{src: "= x = null", want: true},
		{src: "${region}", err: "condition yielded string, expected a boolean"},
		{src: "${'true'}", err: "condition yielded string, expected a boolean"},
		{src: "${amount}", err: "condition yielded number, expected a boolean"},
		{src: "${execution.getVariable('x')}", err: "condition yielded null, expected a boolean"},
		{src: "= x > 1", err: "condition yielded null, expected a boolean"},
		{src: "= list", err: "condition yielded list, expected a boolean"},
		{src: "= order", err: "condition yielded context, expected a boolean"},
		{src: "= when", err: "condition yielded date-time, expected a boolean"},
		{src: "true", err: "condition yielded string, expected a boolean"},
		{src: `= "a" < 1`, err: "cannot compare string with number"},
	} {
		got, err := MustCompile(tc.src).EvalBool(testVars())
		if tc.err != "" {
			var ee *EvalError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.err) || ee.Expr != tc.src {
				t.Errorf("%s: got %v, %v; want error %q naming the expression", tc.src, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.src, got, err, tc.want)
		}
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src           string
		vars, require []string
	}{
		{"plain", nil, nil},
		{"${b > a && b < 3}", []string{"a", "b"}, []string{"a", "b"}},
		{"${order.items[0].sku}", []string{"order"}, []string{"order"}},
		{"${execution.getVariable('x') == y}", []string{"x", "y"}, []string{"y"}},
		{"${execution.getVariable('x') == x}", []string{"x"}, []string{"x"}},
		{"a ${z} b ${a}", []string{"a", "z"}, []string{"a", "z"}},
		{"${'a'.length()}", nil, nil},
		{"= b > a and b < 3", []string{"a", "b"}, nil},
		{"= list[item > limit]", []string{"limit", "list"}, nil},
		{"= list[qty > 1]", []string{"list", "qty"}, nil},
		{"= list[i]", []string{"i", "list"}, nil},
		{"= some x in xs satisfies x > y", []string{"xs", "y"}, nil},
		{"= is defined(a.b)", []string{"a"}, nil},
		{"= {k: v}.k", []string{"v"}, nil},
	} {
		p := MustCompile(tc.src)
		if got := p.Variables(); !reflect.DeepEqual(got, tc.vars) && !(len(got) == 0 && len(tc.vars) == 0) {
			t.Errorf("%s: Variables() = %v, want %v", tc.src, got, tc.vars)
		}
		if got := p.RequiredVariables(); !reflect.DeepEqual(got, tc.require) && !(len(got) == 0 && len(tc.require) == 0) {
			t.Errorf("%s: RequiredVariables() = %v, want %v", tc.src, got, tc.require)
		}
		if p.Source() != tc.src || p.String() != tc.src {
			t.Errorf("%s: Source() = %q", tc.src, p.Source())
		}
	}
}

// TestLookupCalls checks that Eval asks the Lookup only for the
// expression's variables, once each.
func TestLookupCalls(t *testing.T) {
	t.Parallel()
	l := &countingLookup{m: testVars(), n: map[string]int{}}
	if _, err := MustCompile("${amount > 1 && amount < 2000 && region == 'EU'}").Eval(l); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.n, map[string]int{"amount": 1, "region": 1}) {
		t.Fatalf("lookups %v", l.n)
	}
}

type countingLookup struct {
	m Map
	n map[string]int
}

func (c *countingLookup) Lookup(name string) (any, bool) {
	c.n[name]++
	return c.m.Lookup(name)
}

// TestResultNormalised checks that Go ints passed in or produced by
// literals come out as int64, without changing the caller's values.
func TestResultNormalised(t *testing.T) {
	t.Parallel()
	in := []any{1, int32(2), map[string]any{"a": 3}}
	vars := Map{"l": in, "i": 7, "f": float32(1.5)}
	for _, tc := range []struct {
		src  string
		want any
	}{
		{"${l}", []any{int64(1), int64(2), map[string]any{"a": int64(3)}}},
		{"${i}", int64(7)},
		{"${f}", 1.5},
		{"= l", []any{int64(1), int64(2), map[string]any{"a": int64(3)}}},
		{"= [i, {b: 1}]", []any{int64(7), map[string]any{"b": int64(1)}}},
	} {
		got, err := MustCompile(tc.src).Eval(vars)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.src, got, err, tc.want)
		}
	}
	if _, ok := in[0].(int); !ok {
		t.Fatal("normalising changed the caller's list")
	}
}

// TestConcurrent evaluates one program from many goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	p := MustCompile(`= list[item > n][1] = n + 2 and region = "EU"`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				n := int64(g*1000 + i)
				got, err := p.EvalBool(Map{"list": []any{n, n + 2, n + 3}, "n": n, "region": "EU"})
				if err != nil || !got {
					t.Errorf("got %v, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestErrorStrings(t *testing.T) {
	t.Parallel()
	ce := &CompileError{Expr: "${a +}", Pos: 5, Msg: "unexpected end"}
	if got := ce.Error(); got != `compile "${a +}": unexpected end at 5` {
		t.Fatal(got)
	}
	ce.Pos = -1
	if got := ce.Error(); got != `compile "${a +}": unexpected end` {
		t.Fatal(got)
	}
	ee := &EvalError{Expr: "${a}", Err: ErrUnknownVariable}
	if got := ee.Error(); got != `evaluate "${a}": unknown variable` || !errors.Is(ee, ErrUnknownVariable) {
		t.Fatal(got)
	}
}

// TestIterationBudget checks that nested loops over lists stop after
// MaxIterations steps instead of running for hours.
func TestIterationBudget(t *testing.T) {
	t.Parallel()
	big := make([]any, 200)
	for i := range big {
		big[i] = int64(i)
	}
	vars := Map{"big": big}
	_, err := MustCompile("= some a in big, b in big, c in big satisfies a + b + c < 0").Eval(vars)
	var ee *EvalError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "exceeded 1000000 filter and quantifier steps") {
		t.Fatalf("got %v, want the iteration budget error", err)
	}
	// The budget is per evaluation: a program that stays under it runs
	// every time.
	p := MustCompile("= count(big[item > 10][item < 100])")
	for range 3 {
		if got, err := p.Eval(vars); err != nil || got != int64(89) {
			t.Fatalf("got %v, %v; want 89", got, err)
		}
	}
}

// clockMap is a Lookup with a fixed clock.
type clockMap struct {
	Map
	at time.Time
}

func (c clockMap) Now() time.Time { return c.at }

func TestNowReadsTheLookupClock(t *testing.T) {
	at := time.Date(2026, 5, 6, 15, 4, 5, 0, time.UTC)
	vars := clockMap{Map: Map{"due": time.Date(2026, 5, 7, 0, 0, 0, 0, time.UTC)}, at: at}
	tests := []struct {
		src  string
		want any
	}{
		{"= now()", at},
		{"= today()", time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC)},
		{"= string(now())", "2026-05-06T15:04:05Z"},
		{"= due > now()", true},
	}
	for _, tt := range tests {
		got, err := MustCompile(tt.src).Eval(vars)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if w, ok := tt.want.(time.Time); ok {
			if g, ok := got.(time.Time); !ok || !g.Equal(w) {
				t.Fatalf("%s = %v, want %v", tt.src, got, w)
			}
			continue
		}
		if got != tt.want {
			t.Fatalf("%s = %#v, want %#v", tt.src, got, tt.want)
		}
	}
	// Without a Clock, now() reads the system clock.
	got, err := MustCompile("= now()").Eval(Map{})
	if err != nil || time.Since(got.(time.Time)) > time.Minute {
		t.Fatalf("now() without a clock: %v %v", got, err)
	}
}
