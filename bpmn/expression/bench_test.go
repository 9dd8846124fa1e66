package expression

import "testing"

// BenchmarkEval measures the engine's hot path: a typical gateway
// condition in each dialect, compiled once and evaluated many times.
func BenchmarkEval(b *testing.B) {
	vars := Map{"amount": int64(1500), "region": "EU", "customer": "c-17"}
	for _, bc := range []struct{ name, src string }{
		{"JUEL", "${amount > 1000}"},
		{"FEEL", `= amount > 1000 and region = "EU"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := Compile(bc.src)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ok, err := p.EvalBool(vars)
				if err != nil || !ok {
					b.Fatalf("got %v, %v; want true", ok, err)
				}
			}
		})
	}
	b.Run("FEEL/Parallel", func(b *testing.B) {
		p := MustCompile(`= amount > 1000 and region = "EU"`)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, err := p.EvalBool(vars); err != nil || !ok {
					b.Errorf("got %v, %v; want true", ok, err)
					return
				}
			}
		})
	})
}

// BenchmarkCompile measures compiling, which callers are expected to cache.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`= amount > 1000 and region = "EU"`); err != nil {
			b.Fatal(err)
		}
	}
}
