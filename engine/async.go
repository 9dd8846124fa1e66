package engine

// Asynchronous continuations (camunda:asyncBefore, camunda:asyncAfter): the
// command that reaches such an element stops there and leaves a job of
// kind JobAsync; the job executor continues in a command of its own, so that
// what comes before commits first (a save point), and a failure after it
// does not roll back what came before. The job's Topic tells where it
// continues: asyncBefore activates the element, asyncAfter leaves it.

// Async job topics: where a JobAsync continues.
const (
	AsyncBefore = "asyncBefore"
	AsyncAfter  = "asyncAfter"
)

// asyncBefore tells whether activating ei must wait for a job: its element
// is asyncBefore, ei is not an inner instance of a loop (the body carries
// it), and this command is not the job's own continuation.
func (c *cmd) asyncBefore(ei *ElementInstance) bool {
	return ei.node != nil && ei.node.Async.Before && c.continuing != ei.ID && !c.isInner(ei)
}

// asyncAfter tells whether leaving ei must wait for a job.
func (c *cmd) asyncAfter(ei *ElementInstance) bool {
	return ei.node != nil && ei.node.Async.After && c.continuing != ei.ID && !c.isInner(ei)
}

// continueLater creates the job that continues ei at topic.
func (c *cmd) continueLater(ei *ElementInstance, topic string) error {
	id, err := c.newID()
	if err != nil {
		return err
	}
	j := c.newJob()
	*j = Job{ID: id, Kind: JobAsync, InstanceID: c.inst.ID, ElementInstanceID: ei.ID, ElementID: ei.ElementID, Topic: topic,
		State: JobActive, Retries: c.e.cfg.JobRetries, DueAt: c.now, CreatedAt: c.now, BusinessKey: c.inst.BusinessKey,
		dirty: true, fresh: true}
	c.jobs = append(c.jobs, j)
	c.record(ei, EventJobCreated, topic)
	c.noteDue(c.now)
	return nil
}

// runAsync continues the element of async job j.
func (c *cmd) runAsync(j *Job) error {
	ei := c.eiByID(j.ElementInstanceID)
	j.State, j.LeaseOwner, j.dirty = JobCompleted, "", true
	if ei == nil {
		return nil // ended meanwhile
	}
	c.record(ei, EventJobCompleted, j.Topic)
	c.continuing = ei.ID
	if j.Topic == AsyncAfter {
		c.completeLater(ei)
	} else {
		c.queue = append(c.queue, step{kind: stepActivate, ei: ei})
	}
	return nil
}
