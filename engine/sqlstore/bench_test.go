package sqlstore_test

import (
	"context"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// BenchmarkStart: start → 3 service tasks with a Go handler → end, one
// command per instance, with full history, on each dialect.
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			s := sqlstore.New(d.db(b))
			e := engine.New(s, engine.Config{})
			e.RegisterHandler("noop", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, nil })
			model := bpmntest.New("straight").Start("s").
				Node("t1", "serviceTask", bpmntest.Topic("noop")).
				Node("t2", "serviceTask", bpmntest.Topic("noop")).
				Node("t3", "serviceTask", bpmntest.Topic("noop")).
				End("e").Chain("s", "t1", "t2", "t3", "e")
			deploy(ctx, b, e, model)
			p := &engine.StartParams{Key: "straight", Vars: engine.Vars{"x": 10}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				inst, err := e.Start(ctx, p)
				if err != nil || inst.State != engine.InstanceCompleted {
					b.Fatalf("instance %v: %v", inst, err)
				}
			}
		})
	}
}
