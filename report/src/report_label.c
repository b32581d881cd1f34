/* report_label.c - label placement for the chart: each point's label goes to the first spot,
 * nearest first, that overlaps no other label, no point and nothing the caller reserved, and
 * stays inside the plot; a label pushed away from its point gets a leader line. Greedy in the
 * caller's order, so it is deterministic. */
#include <math.h>
#include <stdbool.h>

#include "report_impl.h"

enum { RINGS = 16, DIRS = 16 };

/* Gap kept between boxes (pixels), so labels never touch. */
#define GAP 2.0

static double overlap_area(const struct lqi_box *a, const struct lqi_box *b)
{
    double w = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x) + GAP;
    double h = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y) + GAP;
    return w > 0 && h > 0 ? w * h : 0;
}

static struct lqi_box point_box(const struct lqi_label *l)
{
    return (struct lqi_box){l->px - l->pr, l->py - l->pr, 2 * l->pr, 2 * l->pr};
}

/* Whether the segment from (x0, y0) to (x1, y1) crosses box b (Liang-Barsky clipping). */
static bool segment_hits(double x0, double y0, double x1, double y1, const struct lqi_box *b)
{
    const double dx = x1 - x0, dy = y1 - y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {x0 - b->x, b->x + b->w - x0, y0 - b->y, b->y + b->h - y0};
    double t0 = 0, t1 = 1;
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) {
                return false;
            }
        } else {
            const double t = q[i] / p[i];
            if (p[i] < 0) {
                t0 = fmax(t0, t);
            } else {
                t1 = fmin(t1, t);
            }
        }
    }
    return t0 < t1;
}

void lqi_leader_end(const struct lqi_label *l, double *x, double *y)
{
    *x = fmin(fmax(l->px, l->box.x), l->box.x + l->box.w);
    *y = fmin(fmax(l->py, l->box.y), l->box.y + l->box.h);
}

/* The candidate in direction d (0 = right, then counter-clockwise in 16ths of a turn) on ring
 * k, about 4 + 10k pixels beyond the point's edge. Ring 0 tries right, left, the four
 * diagonals, then above and below (labels are wide: beside a point they stay closest). */
static struct lqi_box candidate(const struct lqi_label *l, int k, int d)
{
    static const int ring0[8] = {0, 8, 2, 14, 6, 10, 4, 12};
    const int dir = k == 0 ? ring0[d % 8] : d;
    const double a = 2 * M_PI * dir / DIRS, c = cos(a), s = -sin(a);
    const double gap = l->pr + 4 + 10.0 * k;
    /* scale to the box's half-size so the near side, not the centre, is at gap */
    const double cx = l->px + c * (gap + l->w / 2), cy = l->py + s * (gap + l->h / 2);
    return (struct lqi_box){cx - l->w / 2, cy - l->h / 2, l->w, l->h};
}

static bool inside(const struct lqi_box *b, const struct lqi_box *area)
{
    return b->x >= area->x && b->y >= area->y && b->x + b->w <= area->x + area->w &&
           b->y + b->h <= area->y + area->h;
}

static double orient(double ax, double ay, double bx, double by, double cx, double cy)
{
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/* Whether segments a0-a1 and b0-b1 cross (touching ends do not count). */
static bool segments_cross(const double a[4], const double b[4])
{
    const double d1 = orient(b[0], b[1], b[2], b[3], a[0], a[1]);
    const double d2 = orient(b[0], b[1], b[2], b[3], a[2], a[3]);
    const double d3 = orient(a[0], a[1], a[2], a[3], b[0], b[1]);
    const double d4 = orient(a[0], a[1], a[2], a[3], b[2], b[3]);
    return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

static void leader_of(const struct lqi_label *l, double seg[4])
{
    seg[0] = l->px;
    seg[1] = l->py;
    lqi_leader_end(l, &seg[2], &seg[3]);
}

/* Overlap of candidate b of label i with everything already there (square pixels); each
 * leader line crossing a label, a point, a reserved box or another leader, and each label
 * on an earlier leader, adds 1: a crossing line is better than hidden text. */
static double cost(const struct lqi_label *ls, int n, int i, const struct lqi_box *b, int k,
                   const struct lqi_box *avoid, int n_avoid)
{
    double c = 0, seg[4], other[4];
    struct lqi_label l = ls[i];
    l.box = *b;
    leader_of(&l, seg);
    for (int j = 0; j < n; j++) {
        const struct lqi_box pb = point_box(&ls[j]);
        c += overlap_area(b, &pb);
        c += k > 0 && j != i && segment_hits(seg[0], seg[1], seg[2], seg[3], &pb);
        if (j >= i) {
            continue;
        }
        c += overlap_area(b, &ls[j].box);
        c += k > 0 && segment_hits(seg[0], seg[1], seg[2], seg[3], &ls[j].box);
        if (ls[j].leader) {
            leader_of(&ls[j], other);
            c += segment_hits(other[0], other[1], other[2], other[3], b);
            c += k > 0 && segments_cross(seg, other);
        }
    }
    for (int j = 0; j < n_avoid; j++) {
        c += overlap_area(b, &avoid[j]);
        c += k > 0 && segment_hits(seg[0], seg[1], seg[2], seg[3], &avoid[j]);
    }
    return c;
}

static void place_one(struct lqi_label *ls, int n, int i, const struct lqi_box *area,
                      const struct lqi_box *avoid, int n_avoid)
{
    double best = INFINITY;
    for (int k = 0; k < RINGS && best > 0; k++) {
        for (int d = 0; d < (k == 0 ? 8 : DIRS) && best > 0; d++) {
            struct lqi_box b = candidate(&ls[i], k, d);
            if (!inside(&b, area)) {
                continue;
            }
            const double c = cost(ls, n, i, &b, k, avoid, n_avoid);
            if (c < best) {
                best = c;
                ls[i].box = b;
                ls[i].leader = k > 0;
            }
        }
    }
    if (best == INFINITY) { /* no spot inside: right of the point, clamped into the area */
        struct lqi_box b = candidate(&ls[i], 0, 0);
        b.x = fmax(area->x, fmin(b.x, area->x + area->w - b.w));
        b.y = fmax(area->y, fmin(b.y, area->y + area->h - b.h));
        ls[i].box = b;
        ls[i].leader = false;
    }
}

void lqi_place_labels(struct lqi_label *ls, int n, const struct lqi_box *area,
                      const struct lqi_box *avoid, int n_avoid)
{
    for (int i = 0; i < n; i++) {
        place_one(ls, n, i, area, avoid, n_avoid);
    }
}

/* Approximate advance widths of DejaVu/Liberation Sans, in em, for the characters type names
 * use; rounded up so a box holds its text in either font. */
double lqi_text_width(const char *s, double font_px)
{
    double em = 0;
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        em += c >= '0' && c <= '9'               ? 0.64
              : c == 'm' || c == 'w' || c == 'M' ? 0.98
              : c == 'i' || c == 'l' || c == 'j' ? 0.30
              : c == '.' || c == ',' || c == ' ' ? 0.33
              : c == 'f' || c == 't' || c == 'r' ? 0.42
              : c == '-' || c == '(' || c == ')' ? 0.40
              : c >= 'A' && c <= 'Z'             ? 0.72
              : c == '_'                         ? 0.50
                                                 : 0.62;
    }
    return em * font_px;
}
