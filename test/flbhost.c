//go:build ignore

/*
 * flbhost: a minimal stand-in for Fluent Bit's Go output proxy, for tests.
 *
 * It loads a Go output plugin (built with -buildmode=c-shared) and calls its
 * exported functions with the same argument types and in the same way as
 * Fluent Bit does (src/flb_plugin_proxy.c, src/proxy/go/go.c): a calloc'd
 * struct flb_plugin_proxy_def for FLBPluginRegister/FLBPluginUnregister, a
 * struct flbgo_output_plugin (api, o_ins, proxy context) for FLBPluginInit,
 * ctx->remote_context for FLBPluginFlushCtx and FLBPluginExitCtx, and a
 * NUL-terminated copy of the tag for each flush.
 *
 * The "//go:build ignore" line above keeps the go tool from treating this
 * directory as a cgo package; cc reads it as a comment.
 *
 * Usage: flbhost PLUGIN.so
 * Commands arrive on stdin, one per line; exactly one answer line per command
 * goes to stdout. The plugin's stdout and stderr both end up on stderr, so
 * nothing the plugin prints can break the protocol.
 *
 *   register                    -> register <rc> <name> <type> <proxy>
 *   new ID                      -> new ok
 *   set ID KEY VALUE...         -> set ok          (VALUE: rest of line, trimmed, may be empty)
 *   init ID                     -> init <rc>
 *   flush ID TAG FILE           -> flush <rc>
 *   pflush ID TAG FILE...       -> pflush <rc>...  (one thread per file, at once)
 *   exitctx ID                  -> exitctx <rc>
 *   exit                        -> exit <rc>
 *   unregister                  -> unregister ok
 *   sync TOKEN                  -> sync TOKEN, after writing "flbhost: sync TOKEN" to
 *                                  stderr (everything the plugin logged before is
 *                                  then in the stderr pipe ahead of that line)
 *   quit                        -> (no answer) exit status 0
 *   anything wrong              -> error <reason>
 *
 * Like Fluent Bit, property keys match case-insensitively, an empty value or
 * a missing key reads as NULL, and the keys the core handles itself (match,
 * host, port, tls*, workers, net.*, ...) never reach the plugin.
 */

#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "flb_plugin.h"
#include "flb_output.h"

/* Signatures as declared in fluent-bit's src/proxy/go/go.h and used by
 * src/flb_plugin_proxy.c. */
typedef int (*cb_register_fn)(struct flb_plugin_proxy_def *);
typedef void (*cb_unregister_fn)(struct flb_plugin_proxy_def *);
typedef int (*cb_init_fn)(void *);
typedef int (*cb_flush_ctx_fn)(void *, const void *, size_t, char *);
typedef int (*cb_flush_fn)(const void *, size_t, const char *);
typedef int (*cb_exit_fn)(void);
typedef int (*cb_exit_ctx_fn)(void *);

#define POISON 0xA5
#define INSTANCE_MAGIC 0x464c4248u /* "FLBH" */

struct prop {
    char *key;
    char *val; /* NULL: set with an empty value */
};

struct instance {
    uint32_t magic;
    char *id;
    /* What the plugin sees. o_ins points back at this instance. */
    struct flbgo_output_plugin plugin;
    struct flb_api api;
    struct flb_plugin_proxy_context context;
    struct prop *props;
    size_t nprops;
    size_t cap;
    int initialised;
    struct instance *next;
};

static FILE *proto;             /* the answer channel (the original stdout) */
static void *dso;
static struct flb_plugin_proxy_def *def;
static int registered;
static struct instance *instances;
static volatile int in_init;    /* set while FLBPluginInit runs */

static cb_register_fn cb_register;
static cb_unregister_fn cb_unregister;
static cb_init_fn cb_init;
static cb_flush_ctx_fn cb_flush_ctx;
static cb_flush_fn cb_flush;
static cb_exit_fn cb_exit;
static cb_exit_ctx_fn cb_exit_ctx;

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void answer(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(proto, fmt, ap);
    va_end(ap);
    fputc('\n', proto);
    fflush(proto);
}

static void *sym(const char *name)
{
    void *s;

    dlerror();
    s = dlsym(dso, name);
    if (dlerror() != NULL) {
        return NULL;
    }
    return s;
}

static struct instance *find_instance(const char *id)
{
    struct instance *in;

    for (in = instances; in; in = in->next) {
        if (strcmp(in->id, id) == 0) {
            return in;
        }
    }
    return NULL;
}

/* Keys Fluent Bit's core consumes in flb_output_set_property(); a plugin
 * never sees them. */
static int core_property(const char *k)
{
    static const char *const exact[] = {
        "match", "match_regex", "alias", "host", "port", "ipv6",
        "retry_limit", "workers", "log_level", "log_suppress_interval",
        "tls", "storage.total_limit_size", NULL
    };
    int i;

    for (i = 0; exact[i]; i++) {
        if (strcasecmp(k, exact[i]) == 0) {
            return 1;
        }
    }
    return strncasecmp(k, "tls.", 4) == 0 || strncasecmp(k, "net.", 4) == 0 ||
           strncasecmp(k, "oauth2", 6) == 0;
}

/* struct flb_api.output_get_property: answers from the instance's table. */
static char *host_get_property(char *key, void *o_ins)
{
    struct instance *in;
    size_t i;

    for (in = instances; in; in = in->next) {
        if ((void *) in == o_ins) {
            break;
        }
    }
    if (!in || in->magic != INSTANCE_MAGIC) {
        fprintf(stderr, "flbhost: output_get_property called with unknown o_ins %p\n",
                o_ins);
        return NULL;
    }
    if (!in_init) {
        fprintf(stderr, "flbhost: output_get_property(\"%s\") called outside FLBPluginInit\n",
                key ? key : "(null)");
    }
    if (!key) {
        return NULL;
    }
    for (i = 0; i < in->nprops; i++) {
        if (strcasecmp(in->props[i].key, key) == 0) {
            return in->props[i].val;
        }
    }
    return NULL;
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return -1;
    }
    fclose(f);
    /* A fresh buffer of exactly the data's size, like a chunk in memory:
     * reading past the end is then a real overrun. */
    *out = malloc(n ? n : 1);
    if (!*out) {
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    memcpy(*out, buf, n);
    free(buf);
    *len = n;
    return 0;
}

/* One flush, as proxy_go_output_flush() does it. */
static int do_flush(struct instance *in, const char *tag, const void *data, size_t size)
{
    size_t tag_len = strlen(tag);
    char *t;
    int ret;

    t = malloc(tag_len + 1);
    if (!t) {
        return -1;
    }
    memcpy(t, tag, tag_len);
    t[tag_len] = '\0';
    if (cb_flush_ctx) {
        ret = cb_flush_ctx(in->context.remote_context, data, size, t);
    }
    else {
        ret = cb_flush(data, size, t);
    }
    memset(t, POISON, tag_len + 1);
    free(t);
    return ret;
}

/* memset through a volatile pointer: a poisoning store right before free()
 * is otherwise a dead store the compiler may drop. */
static void *(*volatile poison_memset)(void *, int, size_t) = memset;

/* Flushes buf, then poisons and frees it: the chunk is gone after the
 * flush returns, as in Fluent Bit; this catches a plugin that kept it. */
static int flush_and_free(struct instance *in, const char *tag, char *buf, size_t len)
{
    int rc = do_flush(in, tag, buf, len);

    poison_memset(buf, POISON, len);
    free(buf);
    return rc;
}

/* Splits off the next space-separated token of *s. */
static char *next_token(char **s)
{
    char *p = *s, *start;

    while (*p == ' ') {
        p++;
    }
    if (*p == '\0') {
        *s = p;
        return NULL;
    }
    start = p;
    while (*p && *p != ' ') {
        p++;
    }
    if (*p) {
        *p++ = '\0';
    }
    *s = p;
    return start;
}

static int need_registered(void)
{
    if (!registered) {
        answer("error not registered");
        return 0;
    }
    return 1;
}

static struct instance *need_instance(char **rest)
{
    char *id = next_token(rest);
    struct instance *in;

    if (!id) {
        answer("error missing instance id");
        return NULL;
    }
    in = find_instance(id);
    if (!in) {
        answer("error unknown instance %s", id);
        return NULL;
    }
    return in;
}

/* Fluent Bit never flushes an instance whose FLBPluginInit failed. */
static struct instance *need_initialised(char **rest)
{
    struct instance *in = need_instance(rest);

    if (in && !in->initialised) {
        answer("error instance %s not initialised", in->id);
        return NULL;
    }
    return in;
}

static void cmd_register(void)
{
    int rc;

    if (registered) {
        answer("error already registered");
        return;
    }
    /* flb_plugin_proxy_create(): calloc'd, type preset to output. */
    def = calloc(1, sizeof(*def));
    if (!def) {
        answer("error out of memory");
        return;
    }
    def->type = FLB_PROXY_OUTPUT_PLUGIN;
    rc = cb_register(def);
    registered = 1;
    answer("register %d %s %d %d", rc, def->name ? def->name : "(null)",
           def->type, def->proxy);
}

static void cmd_unregister(void)
{
    if (!need_registered()) {
        return;
    }
    if (cb_unregister) {
        cb_unregister(def);
    }
    /* name and description belong to the plugin, which freed them. */
    free(def);
    def = NULL;
    registered = 0;
    answer("unregister ok");
}

static void cmd_new(char *rest)
{
    char *id = next_token(&rest);
    struct instance *in;

    if (!need_registered()) {
        return;
    }
    if (!id || next_token(&rest)) {
        answer("error usage: new ID");
        return;
    }
    if (find_instance(id)) {
        answer("error instance %s exists", id);
        return;
    }
    in = calloc(1, sizeof(*in));
    if (!in || !(in->id = strdup(id))) {
        free(in);
        answer("error out of memory");
        return;
    }
    in->magic = INSTANCE_MAGIC;
    in->api.output_get_property = host_get_property;
    in->api._ = NULL;
    in->context.remote_context = NULL;
    in->plugin._ = NULL;
    in->plugin.api = &in->api;
    in->plugin.o_ins = (struct flb_output_instance *) in;
    in->plugin.context = &in->context;
    in->next = instances;
    instances = in;
    answer("new ok");
}

static void cmd_set(char *rest)
{
    struct instance *in;
    char *key, *val, *v = NULL;
    size_t i;

    in = need_instance(&rest);
    if (!in) {
        return;
    }
    key = next_token(&rest);
    if (!key) {
        answer("error usage: set ID KEY VALUE");
        return;
    }
    /* The rest of the line, trimmed like Fluent Bit's config reader does. */
    val = rest;
    while (*val == ' ' || *val == '\t') {
        val++;
    }
    for (i = strlen(val); i > 0 && (val[i - 1] == ' ' || val[i - 1] == '\t'); i--) {
        val[i - 1] = '\0';
    }
    if (core_property(key)) {
        answer("set ok");
        return;
    }
    if (*val != '\0' && !(v = strdup(val))) {
        answer("error out of memory");
        return;
    }
    for (i = 0; i < in->nprops; i++) {
        if (strcasecmp(in->props[i].key, key) == 0) {
            free(in->props[i].val);
            in->props[i].val = v;
            answer("set ok");
            return;
        }
    }
    if (in->nprops == in->cap) {
        size_t ncap = in->cap ? in->cap * 2 : 16;
        struct prop *np = realloc(in->props, ncap * sizeof(*np));
        if (!np) {
            free(v);
            answer("error out of memory");
            return;
        }
        in->props = np;
        in->cap = ncap;
    }
    in->props[in->nprops].key = strdup(key);
    if (!in->props[in->nprops].key) {
        free(v);
        answer("error out of memory");
        return;
    }
    in->props[in->nprops].val = v;
    in->nprops++;
    answer("set ok");
}

static void cmd_init(char *rest)
{
    struct instance *in;
    int rc;

    if (!need_registered()) {
        return;
    }
    in = need_instance(&rest);
    if (!in) {
        return;
    }
    in_init = 1;
    rc = cb_init(&in->plugin);
    in_init = 0;
    in->initialised = rc > 0;
    answer("init %d", rc);
}

static void cmd_flush(char *rest)
{
    struct instance *in;
    char *tag, *file, *buf;
    size_t len;
    int rc;

    if (!need_registered()) {
        return;
    }
    in = need_initialised(&rest);
    if (!in) {
        return;
    }
    tag = next_token(&rest);
    file = next_token(&rest);
    if (!tag || !file || next_token(&rest)) {
        answer("error usage: flush ID TAG FILE");
        return;
    }
    if (read_file(file, &buf, &len) != 0) {
        answer("error cannot read %s: %s", file, strerror(errno));
        return;
    }
    rc = flush_and_free(in, tag, buf, len);
    answer("flush %d", rc);
}

struct pflush_job {
    struct instance *in;
    const char *tag;
    char *buf;
    size_t len;
    int rc;
    pthread_t th;
    int started;
};

static void *pflush_worker(void *arg)
{
    struct pflush_job *j = arg;

    j->rc = flush_and_free(j->in, j->tag, j->buf, j->len);
    j->buf = NULL;
    return NULL;
}

static void cmd_pflush(char *rest)
{
    struct instance *in;
    char *tag, *f, *files[256];
    struct pflush_job *jobs;
    size_t n = 0, i, off;
    char *line;
    int err;

    if (!need_registered()) {
        return;
    }
    in = need_initialised(&rest);
    if (!in) {
        return;
    }
    tag = next_token(&rest);
    while ((f = next_token(&rest)) != NULL) {
        if (n == sizeof(files) / sizeof(files[0])) {
            answer("error too many files (max %zu)", sizeof(files) / sizeof(files[0]));
            return;
        }
        files[n++] = f;
    }
    if (!tag || n == 0) {
        answer("error usage: pflush ID TAG FILE...");
        return;
    }
    jobs = calloc(n, sizeof(*jobs));
    line = malloc(16 + n * 12);
    if (!jobs || !line) {
        free(jobs);
        free(line);
        answer("error out of memory");
        return;
    }
    for (i = 0; i < n; i++) {
        jobs[i].in = in;
        jobs[i].tag = tag;
        if (read_file(files[i], &jobs[i].buf, &jobs[i].len) != 0) {
            answer("error cannot read %s: %s", files[i], strerror(errno));
            goto out;
        }
    }
    /* All buffers are ready: start every flush at once. */
    for (i = 0; i < n; i++) {
        err = pthread_create(&jobs[i].th, NULL, pflush_worker, &jobs[i]);
        if (err != 0) {
            /* Run it here instead; the answer stays meaningful. */
            fprintf(stderr, "flbhost: pthread_create: %s\n", strerror(err));
            pflush_worker(&jobs[i]);
            continue;
        }
        jobs[i].started = 1;
    }
    for (i = 0; i < n; i++) {
        if (jobs[i].started) {
            pthread_join(jobs[i].th, NULL);
        }
    }
    off = (size_t) sprintf(line, "pflush");
    for (i = 0; i < n; i++) {
        off += (size_t) sprintf(line + off, " %d", jobs[i].rc);
    }
    answer("%s", line);
out:
    for (i = 0; i < n; i++) {
        free(jobs[i].buf);
    }
    free(jobs);
    free(line);
}

static void cmd_exitctx(char *rest)
{
    struct instance *in;

    if (!need_registered()) {
        return;
    }
    if (!cb_exit_ctx) {
        answer("error plugin has no FLBPluginExitCtx");
        return;
    }
    in = need_instance(&rest);
    if (!in) {
        return;
    }
    answer("exitctx %d", cb_exit_ctx(in->context.remote_context));
}

static void cmd_exit(void)
{
    if (!cb_exit) {
        answer("error plugin has no FLBPluginExit");
        return;
    }
    answer("exit %d", cb_exit());
}

static void free_all(void)
{
    struct instance *in, *next;
    size_t i;

    for (in = instances; in; in = next) {
        next = in->next;
        for (i = 0; i < in->nprops; i++) {
            free(in->props[i].key);
            free(in->props[i].val);
        }
        free(in->props);
        free(in->id);
        in->magic = 0;
        free(in);
    }
    instances = NULL;
    free(def);
    def = NULL;
}

int main(int argc, char **argv)
{
    char *line = NULL, *rest, *cmd;
    size_t cap = 0;
    ssize_t n;
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PLUGIN.so\n", argv[0]);
        return 2;
    }

    /* Answers get a private copy of stdout; fd 1 then points at stderr so
     * whatever the plugin prints cannot interleave with the protocol. */
    fd = dup(STDOUT_FILENO);
    if (fd < 0 || !(proto = fdopen(fd, "w")) || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        perror("flbhost: stdout");
        return 2;
    }

    dso = dlopen(argv[1], RTLD_NOW);
    if (!dso) {
        fprintf(stderr, "flbhost: dlopen %s: %s\n", argv[1], dlerror());
        return 3;
    }
    cb_register = (cb_register_fn) sym("FLBPluginRegister");
    cb_init = (cb_init_fn) sym("FLBPluginInit");
    cb_flush_ctx = (cb_flush_ctx_fn) sym("FLBPluginFlushCtx");
    cb_flush = (cb_flush_fn) sym("FLBPluginFlush");
    cb_exit_ctx = (cb_exit_ctx_fn) sym("FLBPluginExitCtx");
    cb_exit = (cb_exit_fn) sym("FLBPluginExit");
    cb_unregister = (cb_unregister_fn) sym("FLBPluginUnregister");
    if (!cb_register || !cb_init || (!cb_flush_ctx && !cb_flush)) {
        fprintf(stderr, "flbhost: %s lacks FLBPluginRegister, FLBPluginInit or "
                "FLBPluginFlushCtx\n", argv[1]);
        return 3;
    }

    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (strlen(line) != (size_t) n) {
            answer("error NUL byte in command");
            continue;
        }
        rest = line;
        cmd = next_token(&rest);
        if (!cmd) {
            answer("error empty command");
        }
        else if (strcmp(cmd, "register") == 0) {
            cmd_register();
        }
        else if (strcmp(cmd, "new") == 0) {
            cmd_new(rest);
        }
        else if (strcmp(cmd, "set") == 0) {
            cmd_set(rest);
        }
        else if (strcmp(cmd, "init") == 0) {
            cmd_init(rest);
        }
        else if (strcmp(cmd, "flush") == 0) {
            cmd_flush(rest);
        }
        else if (strcmp(cmd, "pflush") == 0) {
            cmd_pflush(rest);
        }
        else if (strcmp(cmd, "exitctx") == 0) {
            cmd_exitctx(rest);
        }
        else if (strcmp(cmd, "exit") == 0) {
            cmd_exit();
        }
        else if (strcmp(cmd, "unregister") == 0) {
            cmd_unregister();
        }
        else if (strcmp(cmd, "sync") == 0) {
            cmd = next_token(&rest);
            if (!cmd || next_token(&rest)) {
                answer("error usage: sync TOKEN");
                continue;
            }
            fprintf(stderr, "flbhost: sync %s\n", cmd);
            fflush(stderr);
            answer("sync %s", cmd);
        }
        else if (strcmp(cmd, "quit") == 0) {
            break;
        }
        else {
            answer("error unknown command %.64s", cmd);
        }
    }
    free(line);
    free_all();
    fclose(proto);
    /* The Go runtime stays loaded: Fluent Bit does not dlclose a live
     * runtime either, and unloading one is not supported. */
    return 0;
}
