/*
 * A worker that has gone quiet gives its free heap back to the system.
 */
#ifndef AIB_HEAPDECAY_H
#define AIB_HEAPDECAY_H

struct proxy;

/* Seconds without a connection opened or closed or a request begun. */
#define HEAPDECAY_QUIET		1.0

/*
 * From now on px gives its free heap back once quiet, keeping up to
 * pad bytes at the top of the heap.  Without it (another allocator, a
 * test's own worker) heapdecay_busy() does nothing.
 */
void	 heapdecay_init(struct proxy *, size_t);
/* A connection opened or closed, or a request began. */
void	 heapdecay_busy(struct proxy *);

#endif /* AIB_HEAPDECAY_H */
