// Package engine runs BPMN 2.0 processes: it deploys models, starts
// instances and moves their tokens, one command at a time.
//
// # Commands
//
// Every change is a command (Start, CompleteUserTask, CompleteJob, FailJob,
// ThrowJobError, Trigger, SetVariables, RetryIncident, Cancel). A command is
// one Store transaction: it locks its instance, loads the live state, drains a
// work queue of steps until every token waits, and saves the rows it changed
// together with its history events. Nothing is half done: an error rolls the
// whole command back. A business failure (no exclusive-gateway flow matches,
// an unknown variable in an expression, a job out of retries, an uncaught
// BPMN error) is not an error of the command: it becomes an incident on the
// element instance, the command commits, and the rest of the instance goes on.
// RetryIncident runs the failed phase again.
//
// # Element instances
//
// Element instances are flat rows: each has its element, its flow scope (the
// element instance of the process or sub-process that contains it) and a
// lifecycle state. The process instance itself has an element instance with
// the instance's id. The legal transitions are
//
//	activating ──▶ activated ──▶ completing ──▶ completed
//	     │             │              │
//	     └─────────────┴──────────────┴──▶ terminating ──▶ terminated
//
// and a guard rejects any other. A step activates an element instance (input
// mappings, then its behaviour's activate: wait, or complete at once) or
// completes it (its behaviour chooses the outgoing flows; output mappings;
// then the flows are taken). One behaviour per element kind lives in its
// own file: events.go, tasks.go, gateways.go, subprocess.go.
//
// # Tokens and joins
//
// A token on a sequence flow activates the flow's target, except at a
// parallel or inclusive gateway with several incoming flows: there it is
// recorded as a JoinToken of the scope. A parallel join fires when every
// incoming flow has a token; an inclusive join fires when at least one has
// and no live element instance or waiting token of the scope can still reach
// it (reachability is computed once per deployed model). A scope whose last
// token ends completes: a sub-process leaves on its outgoing flows, the
// process instance completes.
//
// # Loops and multi-instance
//
// An activity with loop characteristics runs as a body element instance
// (Kind KindMultiInstanceBody, the activity's ElementID, in the activity's
// scope), whose children are the inner instances, one per iteration, with
// the activity's own Kind. The body is the activity for its scope: it
// leaves on the outgoing flows and boundary events attach to it; inner
// instances take no flows. A parallel multi-instance body creates every
// inner instance at once, a sequential one and a standard loop one after
// the other. Each inner instance has its loopCounter (from 1) and input
// element as local variables and gets the activity's input and output
// mappings; the body keeps nrOfInstances, nrOfActiveInstances,
// nrOfCompletedInstances and the output collection, which reaches the
// enclosing scope when the body completes. See multiinstance.go.
//
// # Compensation
//
// An activity with a compensation handler that completes leaves a
// compensation record (a Subscription of kind SubscribeCompensation) in the
// scope it completed in; a completed sub-process or multi-instance body that
// holds records leaves one for itself, keeping its local variables as a
// snapshot. A compensation throw starts the handlers of its scope's records,
// latest completion first, as children of the throw event, which completes
// when they have (waitForCompletion). A transaction's cancel end event
// compensates the transaction, then its cancel boundary event interrupts
// it. See compensation.go.
//
// # Call activities
//
// A call activity starts an instance of another process (the child,
// linked by Instance.ParentInstanceID and ParentElementInstanceID) and
// waits for it. A command changes one instance, so the start, the return
// of the child's outputs, an error or escalation the child throws at its
// call activity, and the cancel of a child whose call activity was
// terminated are jobs of kind JobCall, run after the command that created
// them committed; each is idempotent (the child's StartKey is made of the
// call activity instance's id). See callactivity.go.
//
// # Variables
//
// Variables live in scopes: the process instance, sub-processes, and
// activities with input mappings. Expressions read from the innermost scope
// outwards. Writes go where the variable exists, else to the process instance
// (Camunda's setVariable). Values are nil, string, int64, float64, bool,
// time.Time, map[string]any and []any; NormalizeVars converts and checks what
// callers pass. Every write is a history event with the old and new value.
//
// # Stores
//
// Store is the persistence boundary. enginetest.MemStore keeps everything in
// memory; sqlstore keeps it in PostgreSQL or SQLite. enginetest.RunConformance
// is the suite every Store passes.
//
// # Embedding Baton in a Go program
//
// Baton is a library as well as a server: open a store, build an engine,
// register a Go handler per service-task topic, deploy, start, and run the
// job executor. examples/embedded is the whole program, with its test.
//
//	// sqlite://FILE (or sqlite::memory:) or postgres://…; Open connects and
//	// applies the migrations.
//	store, err := sqlstore.Open(ctx, "sqlite://payments.db")
//	if err != nil { … }
//	defer store.Close()
//	eng := engine.New(store, engine.Config{})
//
//	// A handler works every job of its topic (camunda:topic, zeebe:taskDefinition type).
//	eng.RegisterHandler("charge-card", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
//		amount, _ := j.Variables()["amount"].(int64)
//		if amount > 1000 {
//			// Thrown at the task: an error boundary event or event
//			// sub-process with this code catches it, else an incident.
//			return nil, &engine.BPMNError{Code: "CARD_DECLINED", Message: "over the limit"}
//		}
//		return engine.Vars{"receipt": "R-" + j.BusinessKey}, nil // merged into the instance
//	})
//
//	_, err = eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "payment.bpmn", Data: xml}}})
//	xctx, stop := context.WithCancel(ctx)
//	done := make(chan error)
//	go func() { done <- eng.NewExecutor(engine.ExecutorConfig{}).Run(xctx) }()
//	inst, err := eng.Start(ctx, &engine.StartParams{Key: "payment", Vars: engine.Vars{"amount": int64(120)}})
//	…
//	stop() // jobs running finish, queued ones are released
//	<-done
//
// A handler runs inside the command that reaches its task, in the same
// transaction: what it returns commits with the task's completion (TxStore
// gives it that transaction for writes of its own). A handler's plain error
// fails the attempt: the job executor retries it with backoff (the model's
// camunda:failedJobRetryTimeCycle, else Config.RetryBackoff doubling), and
// with no retries left an incident holds it. Tasks after an asynchronous
// continuation (camunda:asyncBefore) and retries run in the executor, so a
// program that embeds Baton runs one, as `baton serve` does. Observe tells
// the program what each command did, e.g. which instances ended. A topic
// with no Go handler waits for webhooks or external workers.
//
// # Tracing
//
// With Config.TracerProvider set, commands, executor jobs and Go handlers
// are OpenTelemetry spans (without one the engine starts none, at no cost
// on the path of a command): "command start" is a child of the span in the
// command's context (the HTTP request's, in baton serve); "job <topic>" is
// the executor's run of a job, continuing the trace of the command that
// created it (Job.Traceparent); "handler <topic>" is a Go handler's call.
// A command's history events carry its trace id (CommandInfo.TraceID;
// sqlstore has no column for it yet and reads it back empty).
// TraceID, Traceparent and InjectTraceparent carry a trace to logs, worker
// payloads and outgoing requests. See trace.go.
package engine
