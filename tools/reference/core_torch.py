"""PyTorch cross-check of the @relkd/core fixtures written by core.py.

Recomputes every loss, Module and helper fixture with PyTorch ops in float64 (converting
NHWC <-> NCHW and the tfjs filter layouts to PyTorch's) and asserts agreement with the numpy
reference. Also writes packages/core/fixtures/kdLoss_torch.json: value and student gradient of
PyTorch's `kl_div(log_softmax(s/T), softmax(t/T), reduction='batchmean') * T**2`, which the
TypeScript tests compare kdLoss against directly.

Run (Debian's python3-torch):  /usr/bin/python3 tools/reference/core_torch.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from common import ROOT, to_list, write_fixture  # noqa: E402

torch.set_default_dtype(torch.float64)
FIX = os.path.join(ROOT, 'packages', 'core', 'fixtures')
checked = 0


def load(name):
    with open(os.path.join(FIX, name + '.json')) as fh:
        return json.load(fh)


def T(x, grad=False):
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def check(actual, expected, what, rtol=1e-7, atol=1e-9):
    global checked
    a = actual.detach().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape or not np.allclose(a, e, rtol=rtol, atol=atol):
        raise AssertionError(f'{what}: torch and numpy disagree (max |diff| '
                             f'{np.max(np.abs(a - e)) if a.shape == e.shape else a.shape})')
    checked += 1


def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def conv_w(w):  # tfjs [k, k, in, out] -> torch [out, in, k, k]
    return w.permute(3, 2, 0, 1)


def dw_w(w):  # tfjs [k, k, C, m] -> torch [C*m, 1, k, k] (output channel c*m + q)
    k1, k2, c, m = w.shape
    return w.permute(2, 3, 0, 1).reshape(c * m, 1, k1, k2)


def losses():
    torch_kd = []
    for case in load('kdLoss')['cases']:
        s = T(case['student'], True)
        t = T(case['teacher'])
        temp = case['temperature']
        v = F.kl_div(F.log_softmax(s / temp, dim=1), F.softmax(t / temp, dim=1), reduction='batchmean') * temp**2
        (g,) = torch.autograd.grad(v, s)
        check(v, case['value'], 'kdLoss value')
        check(g, case['grad'], 'kdLoss grad')
        torch_kd.append({'student': case['student'], 'teacher': case['teacher'], 'temperature': temp,
                         'value': v.item(), 'grad': to_list(g.numpy())})
    write_fixture('core', 'kdLoss_torch', {'source': 'torch ' + torch.__version__ + ' float64', 'cases': torch_kd})

    for case in load('klDivergence')['cases']:
        s = T(case['student'], True)
        temp = case['temperature']
        v = F.kl_div(F.log_softmax(s / temp, dim=1), F.softmax(T(case['teacher']) / temp, dim=1),
                     reduction='batchmean') * (temp**2 if case['scaleByTSquared'] else 1)
        check(v, case['value'], 'kl value')
        check(torch.autograd.grad(v, s)[0], case['grad'], 'kl grad')

    for case in load('crossEntropy')['cases']:
        z = T(case['logits'], True)
        v = F.cross_entropy(z, torch.tensor(case['labels']))
        check(v, case['value'], 'CE value')
        check(torch.autograd.grad(v, z)[0], case['grad'], 'CE grad')

    for case in load('softCrossEntropy')['cases']:
        z = T(case['logits'], True)
        v = F.cross_entropy(z / case['temperature'], T(case['targets']))  # probabilities as targets
        check(v, case['value'], 'softCE value')
        check(torch.autograd.grad(v, z)[0], case['grad'], 'softCE grad')


def helper(name, f):
    for case in load(name)['cases']:
        xs = [T(x, True) for x in case['inputs']]
        out = f(case, *xs)
        check(out, case['value'], name + ' value')
        gs = torch.autograd.grad(torch.sum(out * T(case['r'])), xs)
        for g, e in zip(gs, case['grads']):
            check(g, e, name + ' grad', rtol=1e-6, atol=1e-8)


def helpers():
    def zs(case, x):
        ax = case['axis']
        m = x.mean(ax, keepdim=True)
        return (x - m) / (x.std(ax, unbiased=False, keepdim=True) + 1e-7)

    helper('zScore', zs)
    helper('l2Normalize', lambda case, x: F.normalize(x, dim=case['axis'], eps=1e-12))
    helper('gram', lambda case, x: x @ x.T)
    helper('classGram', lambda case, p: p.T @ p)
    helper('pairwiseSquaredDistances', lambda case, a, b=None: torch.cdist(a, a if b is None else b) ** 2)
    helper('cosineSimilarityMatrix',
           lambda case, a, b=None: F.normalize(a, dim=1) @ F.normalize(a if b is None else b, dim=1).T)
    helper('globalAveragePool', lambda case, x: F.adaptive_avg_pool2d(nchw(x), 1).flatten(1))


def modules():
    for case in load('conv2d')['cases']:
        x = T(case['x'], True)
        w = T(case['kernel'], True)
        b = T(case['bias'], True) if case['useBias'] else None
        y = nhwc(F.conv2d(nchw(x), conv_w(w), b, stride=case['stride'], padding=case['padding'],
                          dilation=case['dilation']))
        check(y, case['y'], 'conv2d y')
        gs = torch.autograd.grad(torch.sum(y * T(case['r'])), [x, w] + ([b] if b is not None else []))
        check(gs[0], case['gradX'], 'conv2d gradX')
        check(gs[1], case['gradKernel'], 'conv2d gradKernel')
        if b is not None:
            check(gs[2], case['gradBias'], 'conv2d gradBias')

    for case in load('depthwiseConv2d')['cases']:
        x = T(case['x'], True)
        w = T(case['kernel'], True)
        b = T(case['bias'], True) if case['useBias'] else None
        y = nhwc(F.conv2d(nchw(x), dw_w(w), b, stride=case['stride'], padding=case['padding'],
                          groups=case['channels']))
        check(y, case['y'], 'depthwise y')
        gs = torch.autograd.grad(torch.sum(y * T(case['r'])), [x, w] + ([b] if b is not None else []))
        check(gs[0], case['gradX'], 'depthwise gradX')
        check(gs[1], case['gradKernel'], 'depthwise gradKernel')
        if b is not None:
            check(gs[2], case['gradBias'], 'depthwise gradBias')

    for case in load('separableConv2d')['cases']:
        W = {k: T(v, True) for k, v in case['weights'].items()}
        x = T(case['x'], True)
        h = F.conv2d(nchw(x), dw_w(W['depthwise/kernel']), None, stride=case['stride'],
                     padding=case['padding'], groups=case['inChannels'])
        y = nhwc(F.conv2d(h, conv_w(W['pointwise/kernel']), W.get('pointwise/bias')))
        check(y, case['y'], 'separable y')
        names = list(W)
        gs = torch.autograd.grad(torch.sum(y * T(case['r'])), [x] + [W[n] for n in names])
        check(gs[0], case['gradX'], 'separable gradX')
        for n, g in zip(names, gs[1:]):
            check(g, case['grads'][n], 'separable grad ' + n)

    for case in load('batchNorm')['cases']:
        for mode in ('train', 'infer'):
            x = T(case['x'], True)
            c = x.shape[-1]
            bn = torch.nn.BatchNorm1d(c, momentum=0.1, eps=1e-5) if x.dim() == 2 else \
                torch.nn.BatchNorm2d(c, momentum=0.1, eps=1e-5)
            with torch.no_grad():
                bn.weight.copy_(T(case['gamma']))
                bn.bias.copy_(T(case['beta']))
                bn.running_mean.copy_(T(case['movingMean']))
                bn.running_var.copy_(T(case['movingVariance']))
            bn.train(mode == 'train')
            y = bn(x) if x.dim() == 2 else nhwc(bn(nchw(x)))
            exp = case[mode]
            check(y, exp['y'], f'bn {mode} y')
            gx, gg, gb = torch.autograd.grad(torch.sum(y * T(case['r'])), [x, bn.weight, bn.bias])
            check(gx, exp['gradX'], f'bn {mode} gradX', rtol=1e-6, atol=1e-8)
            check(gg, exp['gradGamma'], f'bn {mode} gradGamma', rtol=1e-6, atol=1e-8)
            check(gb, exp['gradBeta'], f'bn {mode} gradBeta', rtol=1e-6, atol=1e-8)
            if mode == 'train':
                check(bn.running_mean, exp['movingMean'], 'bn running mean')
                check(bn.running_var, exp['movingVariance'], 'bn running var')

    for case in load('dense')['cases']:
        x = T(case['x'], True)
        w = T(case['kernel'], True)
        b = T(case['bias'], True) if case['useBias'] else None
        y = F.linear(x, w.T, b)
        check(y, case['y'], 'dense y')
        gs = torch.autograd.grad(torch.sum(y * T(case['r'])), [x, w] + ([b] if b is not None else []))
        check(gs[0], case['gradX'], 'dense gradX')
        check(gs[1], case['gradKernel'], 'dense gradKernel')
        if b is not None:
            check(gs[2], case['gradBias'], 'dense gradBias')

    fx = load('sepConv')
    cin, cout, s = fx['inChannels'], fx['outChannels'], fx['stride']
    Wt = {k: T(v) for k, v in fx['weights'].items()}
    net = torch.nn.Sequential(
        torch.nn.Conv2d(cin, cin, 3, s, 1, groups=cin, bias=False),
        torch.nn.Conv2d(cin, cin, 1, bias=False),
        torch.nn.BatchNorm2d(cin),
        torch.nn.ReLU(),
        torch.nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False),
        torch.nn.Conv2d(cin, cout, 1, bias=False),
        torch.nn.BatchNorm2d(cout),
        torch.nn.ReLU(),
    )
    for mode in ('infer', 'train'):
        with torch.no_grad():
            net[0].weight.copy_(dw_w(Wt['dw1/kernel']))
            net[1].weight.copy_(conv_w(Wt['pw1/kernel']))
            net[4].weight.copy_(dw_w(Wt['dw2/kernel']))
            net[5].weight.copy_(conv_w(Wt['pw2/kernel']))
            for i, n in ((2, 'bn1'), (6, 'bn2')):
                net[i].weight.copy_(Wt[n + '/gamma'])
                net[i].bias.copy_(Wt[n + '/beta'])
                net[i].running_mean.copy_(Wt[n + '/movingMean'])
                net[i].running_var.copy_(Wt[n + '/movingVariance'])
        net.train(mode == 'train')
        x = T(fx['x'], True)
        y = nhwc(net(nchw(x)))
        check(y, fx[mode]['y'], f'sepConv {mode} y')
        (gx,) = torch.autograd.grad(torch.sum(y * T(fx['r'])), [x])
        check(gx, fx[mode]['gradX'], f'sepConv {mode} gradX', rtol=1e-6, atol=1e-8)
        if mode == 'train':
            for i, n in ((2, 'bn1'), (6, 'bn2')):
                check(net[i].running_mean, fx['train']['stats'][n + '/movingMean'], 'sepConv running mean')
                check(net[i].running_var, fx['train']['stats'][n + '/movingVariance'], 'sepConv running var')


if __name__ == '__main__':
    losses()
    helpers()
    modules()
    print(f'torch {torch.__version__}: {checked} checks agree with the numpy reference')
