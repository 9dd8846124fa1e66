package engine_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// benchEngine deploys a model from bench/models into a fresh engine with a
// "noop" Go handler.
func benchEngine(b *testing.B, xml []byte) (*engine.Engine, string) {
	b.Helper()
	e := engine.New(enginetest.NewMemStore(), engine.Config{})
	e.RegisterHandler("noop", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, nil })
	dep, err := e.Deploy(context.Background(), &engine.DeployParams{Resources: []engine.Resource{{Name: "m.bpmn", Data: xml}}})
	if err != nil {
		b.Fatal(err)
	}
	return e, dep.Definitions[0].Key
}

func benchStart(b *testing.B, e *engine.Engine, key string) {
	b.Helper()
	p := &engine.StartParams{Key: key, Vars: engine.Vars{"x": 10}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		inst, err := e.Start(context.Background(), p)
		if err != nil || inst.State != engine.InstanceCompleted {
			b.Fatalf("instance %v: %v", inst, err)
		}
	}
}

// BenchmarkStraight: start → 3 no-op service tasks → end, in memory, full history.
func BenchmarkStraight(b *testing.B) {
	xml, err := os.ReadFile("../bench/models/straight.bpmn")
	if err != nil {
		b.Fatal(err)
	}
	e, key := benchEngine(b, xml)
	benchStart(b, e, key)
}

// BenchmarkGateway: exclusive gateway into a parallel fork/join of 3 no-op service tasks.
func BenchmarkGateway(b *testing.B) {
	xml, err := os.ReadFile("../bench/models/gateway.bpmn")
	if err != nil {
		b.Fatal(err)
	}
	e, key := benchEngine(b, xml)
	benchStart(b, e, key)
}

// BenchmarkChain runs one instance through a chain of n manual tasks; ns/op
// divided by n is the cost per step, which must not grow with n, and the
// stack must not grow either (the engine's work queue is a loop, not recursion).
func BenchmarkChain(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := bpmntest.New("chain").Start("s")
			ids := []string{"s"}
			for i := range n {
				id := fmt.Sprintf("t%d", i)
				m.Node(id, "manualTask")
				ids = append(ids, id)
			}
			m.End("e")
			m.Chain(append(ids, "e")...)
			e, key := benchEngine(b, m.XML())
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			stack0 := ms.StackInuse
			benchStart(b, e, key)
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/step")
			b.ReportMetric(float64(ms.StackInuse)-float64(stack0), "stack-growth-bytes")
		})
	}
}
